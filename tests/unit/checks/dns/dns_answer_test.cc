// The DNS response reader (checks/dns/dns_answer.h) on messages built byte by
// byte: every type's short form, compression, and the malformed messages it
// must refuse without reading past the end.

#include "checks/dns/dns_answer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "support/dns_message.h"

namespace hx::dns {
namespace {

using testing_dns::Bytes;
using testing_dns::Cat;
using testing_dns::Message;
using testing_dns::Name;
using testing_dns::Put16;
using testing_dns::Put32;

std::optional<Response> Parse(const Bytes& b, RecordType type, std::string* error) {
  return ParseResponse(b.data(), b.size(), static_cast<uint16_t>(type), error);
}

std::string OnlyAnswer(RecordType type, const Bytes& rdata) {
  Message m("example.test", static_cast<unsigned>(type), 0, 1);
  m.Answer(static_cast<unsigned>(type), 300, rdata);
  std::string error;
  auto r = Parse(m.bytes, type, &error);
  if (!r) return "error: " + error;
  if (r->answers.size() != 1) return "answers: " + std::to_string(r->answers.size());
  return r->answers[0].text;
}

TEST(DnsAnswerTest, EveryTypeInDigsShortForm) {
  EXPECT_EQ(OnlyAnswer(RecordType::kA, {10, 1, 0, 1}), "10.1.0.1");
  EXPECT_EQ(
      OnlyAnswer(RecordType::kAaaa, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}),
      "2001:db8::1");
  EXPECT_EQ(OnlyAnswer(RecordType::kCname, Name("api.example.test")), "api.example.test.");
  EXPECT_EQ(OnlyAnswer(RecordType::kNs, Name("ns1.example.test")), "ns1.example.test.");
  EXPECT_EQ(OnlyAnswer(RecordType::kPtr, Name("host.example.test")), "host.example.test.");
  Bytes mx;
  Put16(mx, 10);
  EXPECT_EQ(OnlyAnswer(RecordType::kMx, Cat({mx, Name("mail.example")})), "10 mail.example.");
  Bytes srv;
  Put16(srv, 0);
  Put16(srv, 5);
  Put16(srv, 5060);
  EXPECT_EQ(OnlyAnswer(RecordType::kSrv, Cat({srv, Name("sip.example")})), "0 5 5060 sip.example.");
  Bytes soa_numbers;
  for (uint32_t v : {2024010101u, 3600u, 900u, 604800u, 60u}) Put32(soa_numbers, v);
  EXPECT_EQ(OnlyAnswer(RecordType::kSoa,
                       Cat({Name("ns1.example"), Name("hostmaster.example"), soa_numbers})),
            "ns1.example. hostmaster.example. 2024010101 3600 900 604800 60");
  EXPECT_EQ(
      OnlyAnswer(
          RecordType::kTxt,
          Cat({{6}, Bytes{'v', '=', 's', 'p', 'f', '1'}, {5}, Bytes{' ', '-', 'a', 'l', 'l'}})),
      "v=spf1 -all");
  EXPECT_EQ(OnlyAnswer(RecordType::kTxt, {3, 'a', '"', 0x01}), "a\\\"\\001");
  EXPECT_EQ(OnlyAnswer(RecordType::kTxt, {}), "");
  Bytes caa = {0, 5, 'i', 's', 's', 'u', 'e'};
  for (char c : std::string("letsencrypt.org")) caa.push_back(static_cast<unsigned char>(c));
  EXPECT_EQ(OnlyAnswer(RecordType::kCaa, caa), "0 issue \"letsencrypt.org\"");
}

TEST(DnsAnswerTest, HeaderFieldsAndTtl) {
  Message m("example.test", 1, /*rcode=*/3, 0);
  std::string error;
  auto r = Parse(m.bytes, RecordType::kA, &error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->rcode, 3);
  EXPECT_TRUE(r->authoritative);
  EXPECT_FALSE(r->truncated);
  EXPECT_TRUE(r->answers.empty());

  Message two("example.test", 1, 0, 2);
  two.Answer(1, 42, {10, 0, 0, 1});
  two.Answer(1, 0x80000000u, {10, 0, 0, 2});  // RFC 2181: top bit set counts as 0
  r = Parse(two.bytes, RecordType::kA, &error);
  ASSERT_TRUE(r) << error;
  ASSERT_EQ(r->answers.size(), 2u);
  EXPECT_EQ(r->answers[0].ttl, 42u);
  EXPECT_EQ(r->answers[0].owner, "example.test.");
  EXPECT_EQ(r->answers[1].ttl, 0u);
}

TEST(DnsAnswerTest, OtherTypesAndClassesAreSteppedOver) {
  // A CNAME chain before the address, as a recursive server answers "www A".
  Message m("www.example.test", 1, 0, 3);
  m.Answer(5, 300, Name("api.example.test"));
  m.Answer(1, 300, {10, 1, 0, 1}, /*rr_class=*/3);  // CHAOS: not IN
  m.Answer(1, 60, {10, 1, 0, 2});
  std::string error;
  auto r = Parse(m.bytes, RecordType::kA, &error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->answer_count, 3);
  ASSERT_EQ(r->answers.size(), 1u);
  EXPECT_EQ(r->answers[0].text, "10.1.0.2");
  EXPECT_EQ(r->answers[0].ttl, 60u);
}

TEST(DnsAnswerTest, CompressedNamesInRecordData) {
  // MX target "mail" + pointer to the question name at offset 12.
  Bytes rdata;
  Put16(rdata, 20);
  rdata.insert(rdata.end(), {4, 'm', 'a', 'i', 'l', 0xC0, 0x0C});
  EXPECT_EQ(OnlyAnswer(RecordType::kMx, rdata), "20 mail.example.test.");
}

TEST(DnsAnswerTest, LabelsWithSpecialBytesAreEscaped) {
  EXPECT_EQ(NameText({}), ".");
  EXPECT_EQ(NameText({"a.b", "c\\d", std::string("e\0 ", 3)}), "a\\.b.c\\\\d.e\\000\\032.");
}

TEST(DnsAnswerTest, MalformedMessagesAreRefused) {
  std::string error;
  const Bytes short_header = {0x12, 0x34, 0x84, 0};
  EXPECT_FALSE(Parse(short_header, RecordType::kA, &error));
  EXPECT_EQ(error, "the message is shorter than a DNS header (4 bytes)");

  Message query("example.test", 1);
  query.bytes[2] = 0x01;  // QR clear
  EXPECT_FALSE(Parse(query.bytes, RecordType::kA, &error));
  EXPECT_EQ(error, "the message is a query, not a response");

  // ANCOUNT says 1 but nothing follows the question.
  Message missing("example.test", 1, 0, 1);
  EXPECT_FALSE(Parse(missing.bytes, RecordType::kA, &error));
  EXPECT_EQ(error, "answer 1: a name runs past the end of its data");

  // rdlength larger than what is left.
  Message overlong("example.test", 1, 0, 1);
  overlong.Answer(1, 1, {10, 0, 0, 1});
  overlong.bytes.resize(overlong.bytes.size() - 2);
  EXPECT_FALSE(Parse(overlong.bytes, RecordType::kA, &error));
  EXPECT_EQ(error, "answer 1: record data runs past the end of the message");

  // An A record of 5 bytes.
  Message fat("example.test", 1, 0, 1);
  fat.Answer(1, 1, {10, 0, 0, 1, 7});
  EXPECT_FALSE(Parse(fat.bytes, RecordType::kA, &error));
  EXPECT_EQ(error, "answer 1: an A record's data is 5 bytes, not 4");

  // A name in record data that runs past its record (into the next bytes).
  Message spill("example.test", 2, 0, 1);
  spill.Answer(2, 1, {3, 'n', 's'});
  EXPECT_FALSE(Parse(spill.bytes, RecordType::kNs, &error));
  EXPECT_EQ(error, "answer 1: a name runs past the end of its data");

  // Bytes after an NS name inside its record.
  Message trailing("example.test", 2, 0, 1);
  trailing.Answer(2, 1, Cat({Name("ns"), {0xff}}));
  EXPECT_FALSE(Parse(trailing.bytes, RecordType::kNs, &error));
  EXPECT_EQ(error, "answer 1: the record data has bytes after its end");

  // A TXT string longer than its record.
  Message txt("example.test", 16, 0, 1);
  txt.Answer(16, 1, {5, 'a'});
  EXPECT_FALSE(Parse(txt.bytes, RecordType::kTxt, &error));
  EXPECT_EQ(error, "answer 1: a TXT string runs past the end of its record");

  // A CAA record with an empty tag.
  Message caa("example.test", 257, 0, 1);
  caa.Answer(257, 1, {0, 0});
  EXPECT_FALSE(Parse(caa.bytes, RecordType::kCaa, &error));
  EXPECT_EQ(error, "answer 1: a CAA record's tag is empty or runs past its record");

  // Reserved label type 0x40.
  Message label("example.test", 1);
  label.bytes[12] = 0x41;
  EXPECT_FALSE(Parse(label.bytes, RecordType::kA, &error));
  EXPECT_EQ(error, "question: a name has an unknown label type");
}

TEST(DnsAnswerTest, CompressionLoopsAreRefused) {
  // The answer's owner is a pointer to itself.
  Message self("example.test", 1, 0, 1);
  const size_t at = self.bytes.size();
  self.Answer(1, 1, {10, 0, 0, 1});
  self.bytes[at] = static_cast<unsigned char>(0xC0 | (at >> 8));
  self.bytes[at + 1] = static_cast<unsigned char>(at & 0xff);
  std::string error;
  EXPECT_FALSE(Parse(self.bytes, RecordType::kA, &error));
  EXPECT_EQ(error, "answer 1: a compression pointer does not point backwards");

  // Two names pointing at each other: "x" + pointer to the next one, whose
  // "y" points back at the first.
  Message pair("example.test", 5, 0, 2);
  const size_t first = pair.bytes.size();
  pair.bytes.insert(pair.bytes.end(), {1, 'x', 0xC0, 0x00});  // pointer patched below
  const size_t second = pair.bytes.size();
  pair.bytes.insert(pair.bytes.end(), {1, 'y', 0xC0, static_cast<unsigned char>(first)});
  pair.bytes[first + 3] = static_cast<unsigned char>(second);
  EXPECT_FALSE(Parse(pair.bytes, RecordType::kCname, &error));
  EXPECT_EQ(error, "answer 1: a compression pointer does not point backwards");
}

TEST(DnsAnswerTest, NamesLongerThan255BytesAreRefused) {
  std::string name;
  for (int i = 0; i < 5; ++i) name += std::string(60, 'a') + ".";
  name.pop_back();  // 5 labels of 60: 305 bytes on the wire
  Message m(name, 1);
  std::string error;
  EXPECT_FALSE(Parse(m.bytes, RecordType::kA, &error));
  EXPECT_EQ(error, "question: a name is longer than 255 bytes");
}

TEST(DnsAnswerTest, TypeAndRcodeNames) {
  EXPECT_EQ(TypeFromName("aaaa"), RecordType::kAaaa);
  EXPECT_EQ(TypeFromName("CAA"), RecordType::kCaa);
  EXPECT_FALSE(TypeFromName("ANY"));
  EXPECT_EQ(TypeName(46), "TYPE46");
  EXPECT_EQ(RcodeName(3), "NXDOMAIN");
  EXPECT_EQ(RcodeName(15), "RCODE15");
  EXPECT_EQ(RcodeFromName("servfail"), 2);
  EXPECT_FALSE(RcodeFromName("BADVERS"));
}

TEST(DnsAnswerTest, QueryNamesAndReverseNames) {
  EXPECT_EQ(ValidateQueryName("api.internal"), "");
  EXPECT_EQ(ValidateQueryName("api.internal."), "");
  EXPECT_EQ(ValidateQueryName("."), "");
  EXPECT_EQ(ValidateQueryName("_sip._udp.example"), "");
  EXPECT_EQ(ValidateQueryName(""), "must not be empty");
  EXPECT_EQ(ValidateQueryName("a..b"), "has an empty label (\"..\" or a leading dot)");
  EXPECT_EQ(ValidateQueryName(std::string(64, 'a')), "has a label longer than 63 characters");
  EXPECT_EQ(ValidateQueryName("a b"), "must be printable ASCII without spaces or backslashes");
  EXPECT_EQ(ReverseName("10.0.0.1"), "1.0.0.10.in-addr.arpa.");
  EXPECT_EQ(ReverseName("2001:db8::1"),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.");
  EXPECT_FALSE(ReverseName("host.example"));
}

}  // namespace
}  // namespace hx::dns
