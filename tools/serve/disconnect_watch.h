// Notices clients that hang up while their request runs, so that it is
// cancelled (its KV blocks freed) at once rather than computed for nobody.
// cpp-httplib 0.11 does not say when a connection closes: the watch finds the
// handler thread's socket by its peer address and polls it for end-of-stream.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace chorus::serve {

class DisconnectWatch {
 public:
  // `period_ms`: how often each watched socket is polled.
  explicit DisconnectWatch(int period_ms = 50);
  ~DisconnectWatch();
  DisconnectWatch(const DisconnectWatch&) = delete;
  DisconnectWatch& operator=(const DisconnectWatch&) = delete;

  // Sets `*cancel` once the client at remote_addr:remote_port has closed the
  // connection (or cancel_all() is called), while the returned registration
  // lives. A peer whose socket cannot be found is not watched.
  class Registration {
   public:
    Registration(DisconnectWatch* watch, uint64_t id) : watch_(watch), id_(id) {}
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    ~Registration();

   private:
    DisconnectWatch* watch_;
    uint64_t id_;
  };
  Registration watch(const std::string& remote_addr, int remote_port, std::atomic<bool>* cancel);

  // Cancels every watched request, and every one watched from now on (shutdown).
  void cancel_all();
  bool cancelling_all() const;

 private:
  struct Entry {
    int fd;
    std::atomic<bool>* cancel;
  };
  void poll_loop();

  const int period_ms_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::map<uint64_t, Entry> entries_;  // guarded by mu_
  uint64_t next_id_ = 0;               // guarded by mu_
  bool stopping_ = false;              // guarded by mu_
  bool cancelling_all_ = false;        // guarded by mu_
  std::thread poller_;
};

// The socket of this process connected to remote_addr:remote_port, or -1.
int socket_connected_to(const std::string& remote_addr, int remote_port);
// True when the peer of `fd` has closed it (end-of-stream or an error), without consuming data.
bool peer_closed(int fd);

}  // namespace chorus::serve
