// Cost of one name resolution: the daemon's Resolver (c-ares on the loop)
// against libuv's uv_getaddrinfo (glibc getaddrinfo on the thread pool), the
// same name, one lookup at a time, both asking for A and AAAA.
//
//   resolver_bench cares|uv NAME COUNT
//
// Run under `valgrind --tool=callgrind` with COUNT 0 and COUNT N; the
// difference over N is the instructions per lookup (all threads counted).
// bench/resolver_bench.sh runs it against dnsmasq inside a network and mount
// namespace of its own (glibc only talks to port 53 of /etc/resolv.conf).
//
// Not part of the CMake build; compile against a build tree:
//   g++ -std=c++20 -O2 -Isrc bench/resolver_bench.cc build/libhx_io.a \
//       build/libhx_util.a -luv -lcares -lcurl -lssl -lcrypto -lspdlog -lfmt \
//       -o build/resolver_bench
#include <netdb.h>
#include <uv.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "io/resolver.h"

namespace {

struct UvBench {
  uv_loop_t* loop;
  std::string name;
  int left;
  int failures = 0;
  uv_getaddrinfo_t req{};

  void Next() {
    if (left-- <= 0) return;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    req.data = this;
    uv_getaddrinfo(
        loop, &req,
        [](uv_getaddrinfo_t* r, int status, addrinfo* res) {
          auto* self = static_cast<UvBench*>(r->data);
          if (status != 0) ++self->failures;
          uv_freeaddrinfo(res);
          self->Next();
        },
        name.c_str(), nullptr, &hints);
  }
};

struct CaresBench {
  hx::Resolver* resolver;
  std::string name;
  int left;
  int failures = 0;
  std::unique_ptr<hx::ResolveRequest> req;

  void Next() {
    if (left-- <= 0) return;
    req = resolver->Resolve(name, hx::IpProtocol::kAuto, [this](hx::ResolveResult r) {
      if (!r.error.empty()) {
        if (failures++ == 0) std::fprintf(stderr, "error: %s\n", r.error.c_str());
      }
      Next();
    });
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s cares|uv NAME COUNT\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  const int count = std::atoi(argv[3]);
  uv_loop_t loop;
  uv_loop_init(&loop);
  int failures = 0;
  if (mode == "uv") {
    UvBench b{&loop, argv[2], count};
    b.Next();
    uv_run(&loop, UV_RUN_DEFAULT);
    failures = b.failures;
  } else {
    hx::Resolver resolver(&loop);
    CaresBench b{&resolver, argv[2], count};
    b.Next();
    uv_run(&loop, UV_RUN_DEFAULT);
    failures = b.failures;
    b.req.reset();
    resolver.Shutdown();
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  uv_loop_close(&loop);
  std::printf("%s %s x%d: %d failures\n", argv[1], argv[2], count, failures);
  return failures == 0 ? 0 : 1;
}
