// Ctrl-C handling for interactive commands: the first Ctrl-C during a reply stops the reply
// (the program goes on); at the prompt it ends the program. The flag is the one piece of
// process-wide state a signal handler needs; it lives here, in the app layer, not in the library.
#pragma once

#include <atomic>

namespace scout::apps {

// Installs the SIGINT handler; returns the flag it sets.
std::atomic<bool>& install_interrupt_handler();

}  // namespace scout::apps
