// app/seed.cc: `parley admin seed` (see app/commands.h). Owned by the benchmark work.
#include <iostream>

#include "app/commands.h"

namespace parley::app {

int admin_seed(const ops::Config&, const SeedArgs&) {
  std::cerr << "parley: admin seed is not implemented yet\n";
  return 1;
}

}  // namespace parley::app
