// app/commands.h: the `parley` subcommands. Each returns the process exit code.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ops/config.h"

namespace parley::app {

// Config sources gathered by main(): the --config file, PARLEY_* environment, --a.b=c flags.
struct ConfigSources {
  std::string file;
  std::map<std::string, std::string> env;
  std::map<std::string, std::string> flags;
};

core::Result<ops::Config> load(const ConfigSources& src);

int serve(const ops::Config& config);

struct CreateUserArgs {
  std::string username;
  std::string password_file;  // "-" = stdin; "" = generate and print one
  std::string email;
  std::string display_name;
  bool admin = false;
};
int admin_create_user(const ops::Config& config, const CreateUserArgs& args);
int admin_set_role(const ops::Config& config, const std::string& username, const std::string& role);
int admin_deactivate(const ops::Config& config, const std::string& username);
int admin_list_users(const ops::Config& config);

// `parley admin seed`: the documented bulk path for load tests (bench/README.md). Creates
// users, sessions and rooms from a JSON spec directly in the store (one shared password hash,
// so no argon2id per user) and writes tokens and memberships to `out`. Messages are NOT seeded:
// load tests send them through the normal gateway path they measure.
struct SeedArgs {
  std::string spec_file;
  std::string out_file;
};
int admin_seed(const ops::Config& config, const SeedArgs& args);

}  // namespace parley::app
