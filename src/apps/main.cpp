// scout: command-line entry point. Each subcommand registers itself (commands.hpp);
// errors surface as "error: <what is wrong and how to fix it>" with exit status 1.
#include <cstdio>
#include <exception>

#include "apps/build_info.hpp"
#include "apps/commands.hpp"
#include "base/error.hpp"

int main(int argc, char** argv) {
    CLI::App app{"scout: Llama 4 inference engine (Scout / Maverick) for CPU and GPU.\n"
                 "Run `scout <command> --help` for the options of each command."};
    app.require_subcommand(1);
    app.set_version_flag("--version", [] { return scout::apps::version_text(); },
                         "Print the version, git commit, compiler, SIMD levels and backends, then exit");
    scout::apps::register_run(app);
    scout::apps::register_chat(app);
    scout::apps::register_demo_model(app);
    scout::apps::register_quantize(app);
    scout::apps::register_bench(app);
    scout::apps::register_info(app);
    scout::apps::register_logits(app);
    scout::apps::register_tokenize(app);
#ifdef SCOUT_HAVE_SERVER
    scout::apps::register_serve(app);
#endif
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        // Bad command line: say what is wrong and where the help is; exit status 2.
        std::fprintf(stderr, "error: %s\nRun `scout --help` or `scout <command> --help` for usage.\n", e.what());
        return 2;
    } catch (const scout::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
