#include "apps/commands.hpp"
void scout::apps::register_tokenize(CLI::App&) {}
