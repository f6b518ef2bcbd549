// app/main.cc: the `parley` command line. Subcommands: serve, admin, config check, version.
// Every subcommand accepts --config FILE and --<section>.<field>=<value> setting overrides.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>

#include "app/commands.h"
#include "ops/config.h"

extern char** environ;

namespace {

using parley::app::ConfigSources;

std::map<std::string, std::string> environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    if (kv.rfind("PARLEY_", 0) != 0) continue;
    env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

// Pulls "--section.field=value" and "--section.field value" settings out of argv; the rest is
// left for CLI11. Returns false (with a message) on a malformed override.
bool split_overrides(int argc, char** argv, std::vector<std::string>& rest,
                     std::map<std::string, std::string>& flags) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) == 0 && a.find('.') != std::string::npos &&
        a.find('.') < a.find('=')) {
      std::string key, value;
      auto eq = a.find('=');
      if (eq != std::string::npos) {
        key = a.substr(2, eq - 2);
        value = a.substr(eq + 1);
      } else if (i + 1 < argc) {
        key = a.substr(2);
        value = argv[++i];
      } else {
        std::cerr << "parley: setting " << a << " needs a value\n";
        return false;
      }
      flags[key] = value;
      continue;
    }
    rest.push_back(a);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  ConfigSources src;
  std::vector<std::string> rest;
  if (!split_overrides(argc, argv, rest, src.flags)) return 2;
  src.env = environment();

  CLI::App app{"Parley: a self-hosted real-time team chat server"};
  app.require_subcommand(1);
  app.set_version_flag("--version", PARLEY_VERSION);
  app.footer("Settings: --<section>.<field>=<value>, e.g. --http.port=8080 (see docs/operations.md)");

  auto* serve = app.add_subcommand("serve", "Run the server");
  serve->add_option("--config", src.file, "TOML config file");

  auto* version = app.add_subcommand("version", "Print the version");

  auto* config = app.add_subcommand("config", "Configuration tools");
  config->require_subcommand(1);
  auto* check = config->add_subcommand("check", "Validate and print the effective config (secrets redacted)");
  check->add_option("--config", src.file, "TOML config file");

  auto* admin = app.add_subcommand("admin", "Administration (works on the data directory directly)");
  admin->require_subcommand(1);
  admin->add_option("--config", src.file, "TOML config file");
  parley::app::CreateUserArgs create_args;
  auto* create = admin->add_subcommand("create-user", "Create a user");
  create->add_option("username", create_args.username)->required();
  create->add_option("--password-file", create_args.password_file,
                     "File with the password ('-' = stdin); omitted: generate and print one");
  create->add_option("--email", create_args.email);
  create->add_option("--display-name", create_args.display_name);
  create->add_flag("--admin", create_args.admin, "Give the user the admin role");
  std::string role_user, role;
  auto* set_role = admin->add_subcommand("set-role", "Set a user's role (admin or user)");
  set_role->add_option("username", role_user)->required();
  set_role->add_option("role", role)->required()->check(CLI::IsMember({"admin", "user"}));
  std::string deactivate_user;
  auto* deactivate = admin->add_subcommand("deactivate", "Deactivate a user and end their sessions");
  deactivate->add_option("username", deactivate_user)->required();
  auto* list_users = admin->add_subcommand("list-users", "List users");
  parley::app::SeedArgs seed_args;
  auto* seed = admin->add_subcommand("seed", "Bulk-create users, sessions and rooms for load tests");
  seed->add_option("--spec", seed_args.spec_file, "JSON spec (bench/README.md)")->required();
  seed->add_option("--out", seed_args.out_file, "Where to write tokens and memberships")->required();

  std::reverse(rest.begin(), rest.end());
  try {
    app.parse(rest);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (version->parsed()) {
    std::cout << "parley " << PARLEY_VERSION << "\n";
    return 0;
  }

  auto cfg = parley::app::load(src);
  if (!cfg) {
    std::cerr << "parley: bad configuration: " << cfg.error().message << "\n";
    return 2;
  }
  if (check->parsed()) {
    std::cout << parley::ops::render_config(*cfg);
    return 0;
  }
  if (serve->parsed()) return parley::app::serve(*cfg);
  if (create->parsed()) return parley::app::admin_create_user(*cfg, create_args);
  if (set_role->parsed()) return parley::app::admin_set_role(*cfg, role_user, role);
  if (deactivate->parsed()) return parley::app::admin_deactivate(*cfg, deactivate_user);
  if (list_users->parsed()) return parley::app::admin_list_users(*cfg);
  if (seed->parsed()) return parley::app::admin_seed(*cfg, seed_args);
  return 2;
}
