// The random walk as a command (see random_walk.h):
//
//   random_walk [--seed S] [--steps N] [--full-check-every K] [--restart-per-mille R]
//               [--dir DIR] [--keep] [--trace] [--plant KIND --plant-at STEP]
//
// Prints a summary; exit 0 when every check held, 1 on a violation (the
// report names the seed and step and the command that replays it), 2 on bad
// flags. The nightly run: random_walk --seed $(date +%s) --steps 100000.
#include <chrono>
#include <iostream>

#include "CLI/CLI.hpp"
#include "sandbox/soak/random_walk.h"

int main(int argc, char** argv) {
  namespace walk = vkspay::sandbox::walk;
  walk::WalkOptions o;
  std::string plant = "none";
  bool trace = false;
  CLI::App app{
      "Seeded random walk over the sandbox's operations, checking invariants after every step"};
  app.add_option("--seed", o.seed, "seed of the walk (the same seed replays the same walk)");
  app.add_option("--steps", o.steps, "number of steps")->check(CLI::PositiveNumber);
  app.add_option("--full-check-every", o.full_check_every,
                 "compare every order and notification with the model every K steps (0: only "
                 "after restarts and at the end)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--restart-per-mille", o.restart_per_mille, "restarts per 1000 steps")
      ->check(CLI::Range(0, 1000));
  app.add_option("--dir", o.dir, "directory for the database (default: a fresh temp directory)");
  app.add_flag("--keep", o.keep_dir, "keep the database after a passing walk");
  app.add_flag("--trace", trace, "print every step");
  app.add_option("--plant", plant,
                 "plant a bug to see it caught: reopen-order, second-payment-event, lose-refund, "
                 "shrink-refunded-fee, drop-payment-event");
  app.add_option("--plant-at", o.plant_at_step, "first step at which the bug may be planted");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  std::optional<walk::Plant> p = walk::ParsePlant(plant);
  if (!p) {
    std::cerr << "random_walk: --plant must be none, reopen-order, second-payment-event, "
                 "lose-refund, shrink-refunded-fee or drop-payment-event; got \""
              << plant << "\"\n";
    return 2;
  }
  o.plant = *p;
  if (trace) o.trace = [](const std::string& line) { std::cout << line << "\n"; };
  const auto start = std::chrono::steady_clock::now();
  const walk::WalkResult r = walk::RunRandomWalk(o);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "random_walk seed=" << o.seed << " " << walk::Summary(r) << "\n  time " << seconds
            << " s";
  if (!r.ok || o.keep_dir) std::cout << "\n  database " << r.db_path;
  std::cout << std::endl;
  return r.ok ? 0 : 1;
}
