// The command-line source. CLI11 only splits argv into flags and values (every option takes its
// value as text); parsing the values is the settings table's job, so the three sources report
// bad values with the same words.

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "config/detail/sources.hpp"
#include "config/detail/values.hpp"

namespace ck::config::detail {
namespace {

constexpr std::string_view origin_cli = "from the command line";

bool is_help_flag(std::string_view arg) { return arg == "-h" || arg == "--help"; }

// Makes CLI11 (or any library) text fit on the one error line.
std::string one_line(std::string text) {
  for (char& ch : text) {
    if (ch == '\n' || ch == '\r') {
      ch = ' ';
    }
  }
  return text;
}

struct flag_options {
  CLI::Option* config = nullptr;
  std::vector<std::pair<const setting*, CLI::Option*>> settings;
};

// One option per setting, named "--key,--dashed-key". expected(0, 1) lets a bare boolean flag
// mean true ("--cluster.bootstrap"); for other settings a bare flag is an empty value, which the
// setting then rejects or treats as unset, with our wording instead of CLI11's.
flag_options cli_define(CLI::App& app) {
  flag_options options;
  app.set_help_flag();  // ours: help_text() is the table of settings, not CLI11's listing
  app.add_flag("-h,--help");
  app.allow_extras(true);  // reported by cli_parse() with our wording
  options.config = app.add_option("--config")
                       ->expected(0, 1)
                       ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  for (const setting& s : all_settings()) {
    std::string names = "--" + std::string(s.key) + "," + dashed_flag(s.key);
    CLI::Option* option = app.add_option(names)->expected(0, 1)->multi_option_policy(
        CLI::MultiOptionPolicy::TakeLast);
    options.settings.emplace_back(&s, option);
  }
  return options;
}

// The value a flag was given last ("--a 1 --a 2" means 2, like environment overrides), or for
// a bare flag "" (booleans turn that into true in cli_apply()).
std::string cli_last_value(const CLI::Option& option) {
  const std::vector<std::string>& results = option.results();
  return results.empty() ? std::string() : results.back();
}

std::string cli_collect(const CLI::App& app, const flag_options& options, cli_values& out) {
  const std::vector<std::string> extras = app.remaining();
  if (!extras.empty()) {
    const std::string& first = extras.front();
    if (first.size() > 1 && first.front() == '-') {
      // The flag without any "=value": the value may be a secret, and the name is the mistake.
      return "invalid command line: unknown flag " + first.substr(0, first.find('=')) +
             " (see --help)";
    }
    return "invalid command line: unexpected argument " + quote(first) + " (see --help)";
  }
  if (options.config->count() > 0) {
    out.config_given = true;
    out.config_path = cli_last_value(*options.config);
  }
  for (const auto& [s, option] : options.settings) {
    if (option->count() > 0) {
      out.values.emplace_back(s, cli_last_value(*option));
    }
  }
  return "";
}

}  // namespace

std::string cli_parse(int argc, const char* const* argv, cli_values& out) {
  out = cli_values{};
  for (int i = 1; i < argc; ++i) {
    if (argv == nullptr || argv[i] == nullptr) {
      return "invalid command line: argument " + std::to_string(i) + " is missing";
    }
    if (is_help_flag(argv[i])) {
      out.help = true;  // help wins over any other mistake on the line: the user asked for it
      return "";
    }
  }
  if (argc <= 1 || argv == nullptr) {
    return "";
  }
  try {
    CLI::App app{"clusterkit"};
    const flag_options options = cli_define(app);
    app.parse(argc, argv);
    return cli_collect(app, options, out);
  } catch (const CLI::Error& e) {
    return "invalid command line: " + one_line(e.what()) + " (see --help)";
  } catch (const std::exception& e) {
    return "invalid command line: " + one_line(e.what());
  }
}

std::string cli_apply(const cli_values& cli, node_config& c, origin_map& origins) {
  for (const auto& [s, value] : cli.values) {
    const bool bare_boolean = value.empty() && s->kind == value_kind::boolean;
    const std::string text = bare_boolean ? "true" : value;
    std::string expectation = s->apply(c, text);
    if (!expectation.empty()) {
      return setting_error(*s, text, expectation) + " (" + std::string(origin_cli) + ")";
    }
    origins[std::string(s->key)] = std::string(origin_cli);
  }
  return "";
}

}  // namespace ck::config::detail
