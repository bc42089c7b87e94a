#include "message.hpp"

namespace socks {

namespace {
thread_local const MessageObserver* t_observer = nullptr;
}  // namespace

void set_message_observer(const MessageObserver* observer) {
    t_observer = observer;
}
const MessageObserver* message_observer() {
    return t_observer;
}

void send_message(const Fd& socket, const char* name, ByteView bytes) {
    if (t_observer != nullptr) (*t_observer)(false, name, bytes);
    write_all(socket, bytes);
}

}  // namespace socks
