// Subcommand registration for the `scout` binary.
// Each subcommand lives in its own cmd_*.cpp and adds itself to the CLI11 app;
// main.cpp only calls these functions. A command signals failure by throwing
// scout::Error (printed as "error: ..." with exit code 1) or CLI::Error.
#pragma once

#include <CLI/CLI.hpp>

namespace scout::apps {

void register_info(CLI::App& app);        // cmd_info.cpp
void register_logits(CLI::App& app);      // cmd_logits.cpp
void register_tokenize(CLI::App& app);    // cmd_tokenize.cpp  (tokenize, detokenize)
void register_run(CLI::App& app);         // cmd_run.cpp
void register_chat(CLI::App& app);        // cmd_chat.cpp
void register_demo_model(CLI::App& app);  // cmd_demo_model.cpp
void register_quantize(CLI::App& app);    // cmd_quantize.cpp
void register_bench(CLI::App& app);       // cmd_bench.cpp
void register_serve(CLI::App& app);       // cmd_serve.cpp

}  // namespace scout::apps
