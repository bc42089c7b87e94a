#include "message.hpp"

namespace socks {

namespace {
thread_local MessageObserver* t_observer = nullptr;
}  // namespace

void set_message_observer(MessageObserver* observer) {
    t_observer = observer;
}
MessageObserver* message_observer() {
    return t_observer;
}

void send_message(const Fd& socket, const char* name, ByteView bytes) {
    if (t_observer != nullptr) t_observer->on_message(false, name, bytes);
    write_all(socket, bytes);
}

}  // namespace socks
