#include "tools/serve/disconnect_watch.h"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <netinet/in.h>
#include <sys/socket.h>

namespace chorus::serve {

int socket_connected_to(const std::string& remote_addr, int remote_port) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    const int fd = std::atoi(entry.path().filename().c_str());
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;
    char text[INET6_ADDRSTRLEN] = {};
    int port = -1;
    if (peer.ss_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(&peer);
      inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
      port = ntohs(in->sin_port);
    } else if (peer.ss_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&peer);
      inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
      port = ntohs(in6->sin6_port);
    }
    if (port == remote_port && remote_addr == text) return fd;
  }
  return -1;
}

bool peer_closed(int fd) {
  char byte;
  const ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return false;                                   // data waiting (a pipelined request): still there
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return false;
  return true;                                               // 0: end-of-stream; other errors: reset
}

DisconnectWatch::DisconnectWatch(int period_ms) : period_ms_(period_ms), poller_([this] { poll_loop(); }) {}

DisconnectWatch::~DisconnectWatch() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  poller_.join();
}

DisconnectWatch::Registration DisconnectWatch::watch(const std::string& remote_addr, int remote_port,
                                                     std::atomic<bool>* cancel) {
  const int fd = socket_connected_to(remote_addr, remote_port);
  std::lock_guard<std::mutex> lock(mu_);
  if (cancelling_all_) cancel->store(true);
  const uint64_t id = next_id_++;
  entries_[id] = {fd, cancel};
  return Registration(this, id);
}

DisconnectWatch::Registration::~Registration() {
  std::lock_guard<std::mutex> lock(watch_->mu_);
  watch_->entries_.erase(id_);
}

void DisconnectWatch::cancel_all() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelling_all_ = true;
  for (auto& [id, e] : entries_) e.cancel->store(true);
}

bool DisconnectWatch::cancelling_all() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelling_all_;
}

void DisconnectWatch::poll_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::milliseconds(period_ms_));
    // Under the lock: a registration is only dropped (and its socket closed) after this pass.
    for (auto& [id, e] : entries_)
      if (!e.cancel->load() && e.fd >= 0 && peer_closed(e.fd)) e.cancel->store(true);
  }
}

}  // namespace chorus::serve
