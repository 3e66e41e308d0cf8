#include "checks/common/connection_attempt.h"

#include <arpa/inet.h>

#include <utility>

#include "checks/common/failure_reasons.h"
#include "io/attempt_trace.h"
#include "io/io_context.h"
#include "util/fd_shortage.h"

namespace hx {

// read_buffer_ is left uninitialised on purpose: libuv fills it before any
// byte is read, and zeroing it for every attempt would be wasted work.
// cppcheck-suppress uninitMemberVar
ConnectionAttempt::ConnectionAttempt(IoContext& io, uint16_t port, IpPolicy ip_policy)
    : io_(io), port_(port), ip_policy_(ip_policy) {
  connect_req_.data = this;
}

void ConnectionAttempt::ResolveAndConnect(std::string_view host, IpProtocol protocol) {
  ResolveThen(io_.resolver(), host, protocol,
              [this](ResolveResult result) { Resolved(std::move(result)); });
}

bool ConnectionAttempt::ConnectToIpLiteral(const std::string& host) {
  sockaddr_storage numeric{};
  if (uv_ip4_addr(host.c_str(), port_, reinterpret_cast<sockaddr_in*>(&numeric)) != 0 &&
      uv_ip6_addr(host.c_str(), port_, reinterpret_cast<sockaddr_in6*>(&numeric)) != 0) {
    return false;
  }
  addresses_.push_back(numeric);
  ConnectNext(0);
  return true;
}

void ConnectionAttempt::Resolved(ResolveResult resolved) {
  if (!resolved.error.empty()) {
    Finish(ResolveFailed(resolved));
    return;
  }
  if (resolved.addresses.empty()) {
    Finish(NoAddressResult(resolved));
    return;
  }
  addresses_ = std::move(resolved.addresses);
  for (sockaddr_storage& a : addresses_) {
    if (a.ss_family == AF_INET) {
      reinterpret_cast<sockaddr_in*>(&a)->sin_port = htons(port_);
    } else if (a.ss_family == AF_INET6) {
      reinterpret_cast<sockaddr_in6*>(&a)->sin6_port = htons(port_);
    }
  }
  ConnectNext(0);
}

CheckResult ConnectionAttempt::NoAddressResult(const ResolveResult& resolved) const {
  return ResolveFailed(resolved);
}

void ConnectionAttempt::ConnectNext(int last_error) {
  if (IsFdShortage(last_error)) {
    // No socket could be made: another address would fare no better.
    Finish(CheckResult::Unhealthy(
        FailureReason::kInternal,
        ReportFdShortage(last_error, "cannot open a socket; the target was not tried")));
    return;
  }
  if (next_address_ >= addresses_.size()) {
    // ip_policy first: every address refused; the last one's error is the
    // attempt's. (The list is never empty here: Resolved() ends an attempt
    // without addresses.)
    CheckResult result =
        CheckResult::Unhealthy(ReasonOfSocketError(last_error), uv_strerror(last_error));
    if (next_address_ > 0) result.address = AddressPortText(current_address(), port_);
    Finish(std::move(result));
    return;
  }
  const sockaddr_storage& address = addresses_[next_address_++];
  ++connection_;
  OnConnecting();
  socket_ = new uv_tcp_t;
  uv_tcp_init(io_.loop(), socket_);
  socket_->data = this;
  const int rc = uv_tcp_connect(&connect_req_, socket_, reinterpret_cast<const sockaddr*>(&address),
                                &ConnectionAttempt::OnConnect);
  if (rc < 0) {
    ConnectFailed(rc);
    return;
  }
  ExpectCallback();
}

void ConnectionAttempt::ConnectFailed(int error) {
  CloseSocket();
  if (ip_policy_ == IpPolicy::kAll && !IsFdShortage(error)) {
    EndConnection(CheckResult::Unhealthy(ReasonOfSocketError(error), uv_strerror(error)));
  } else {
    ConnectNext(error);
  }
}

void ConnectionAttempt::OnConnect(uv_connect_t* req, int status) {
  auto* self = static_cast<ConnectionAttempt*>(req->data);
  CallbackGuard guard(self);
  if (!guard.over()) self->HandleConnected(status);
}

void ConnectionAttempt::HandleConnected(int status) {
  TraceConnect(check()->trace(), current_address(), status);
  if (status < 0) {
    ConnectFailed(status);
    return;
  }
  // Reads keep coming until the socket closes, which Release() announces.
  const int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(socket_), &ConnectionAttempt::OnAlloc,
                               &ConnectionAttempt::OnRead);
  if (rc < 0) {
    EndConnection(CheckResult::Unhealthy(ReasonOfSocketError(rc),
                                         std::string("read failed: ") + uv_strerror(rc)));
    return;
  }
  OnConnected();
}

void ConnectionAttempt::EndConnection(CheckResult result) {
  if (over()) return;
  if (result.health != Health::kHealthy) {
    result.address = AddressPortText(current_address(), port_);
  }
  AddConnectionObservations(&result);
  if (ip_policy_ == IpPolicy::kFirst) {
    Finish(std::move(result));
    return;
  }
  outcomes_.push_back({current_address(), std::move(result)});
  CloseSocket();
  writes_in_flight_ = 0;
  OnConnectionEnded();
  if (next_address_ < addresses_.size()) {
    ConnectNext(0);
  } else {
    Finish(CombineOutcomes(outcomes_));
  }
}

CheckResult ConnectionAttempt::CombineOutcomes(const std::vector<AddressResult>& outcomes) const {
  CheckResult combined = CombineAddressResults(outcomes, port_);
  UseLowestOfAll(outcomes, ObservationId::kTlsCertExpiryTimestampSeconds, &combined);
  return combined;
}

void ConnectionAttempt::WriteRaw(std::string bytes) {
  auto* op = new WriteOp{{}, std::move(bytes), this, connection_};
  op->req.data = op;
  uv_buf_t buf = uv_buf_init(op->bytes.data(), static_cast<unsigned int>(op->bytes.size()));
  const int rc = uv_write(&op->req, reinterpret_cast<uv_stream_t*>(socket_), &buf, 1,
                          &ConnectionAttempt::OnWritten);
  if (rc < 0) {
    delete op;
    EndConnection(CheckResult::Unhealthy(ReasonOfSocketError(rc),
                                         std::string("send failed: ") + uv_strerror(rc)));
    return;
  }
  ExpectCallback();
  ++writes_in_flight_;
}

void ConnectionAttempt::OnWritten(uv_write_t* req, int status) {
  auto* op = static_cast<WriteOp*>(req->data);
  ConnectionAttempt* self = op->attempt;
  const int connection = op->connection;
  delete op;
  CallbackGuard guard(self);
  // ip_policy all: the write may belong to an address already judged.
  if (self->Ended(connection)) return;
  --self->writes_in_flight_;
  if (status < 0) {
    self->EndConnection(CheckResult::Unhealthy(ReasonOfSocketError(status),
                                               std::string("send failed: ") + uv_strerror(status)));
  } else {
    self->OnWriteDone();
  }
}

void ConnectionAttempt::StopReading() { uv_read_stop(reinterpret_cast<uv_stream_t*>(socket_)); }

void ConnectionAttempt::OnAlloc(uv_handle_t* handle, size_t /*suggested*/, uv_buf_t* buf) {
  auto* self = static_cast<ConnectionAttempt*>(handle->data);
  *buf = uv_buf_init(self->read_buffer_, sizeof(self->read_buffer_));
}

// Comes any number of times while the socket reads: not announced, so it
// opens with a RepeatingCallbackGuard.
void ConnectionAttempt::OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<ConnectionAttempt*>(stream->data);
  RepeatingCallbackGuard guard(self);
  if (!guard.over()) self->HandleRead(nread, buf);
}

void ConnectionAttempt::CloseSocket() {
  if (socket_ == nullptr) return;
  uv_tcp_t* socket = std::exchange(socket_, nullptr);
  ExpectCallback();
  // Closing also cancels a pending connect and writes: their callbacks run
  // with UV_ECANCELED before OnClosed.
  uv_close(reinterpret_cast<uv_handle_t*>(socket), &ConnectionAttempt::OnClosed);
}

void ConnectionAttempt::OnClosed(uv_handle_t* handle) {
  auto* self = static_cast<ConnectionAttempt*>(handle->data);
  delete reinterpret_cast<uv_tcp_t*>(handle);
  CallbackGuard guard(self);
}

}  // namespace hx
