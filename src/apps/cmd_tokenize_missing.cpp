// Temporary: used only while cmd_tokenize.cpp is not yet in the tree.
#include "apps/commands.hpp"
void scout::apps::register_tokenize(CLI::App&) {}
