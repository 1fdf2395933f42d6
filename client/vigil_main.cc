// vigil: the command-line tool for agencies, watchdogs and courts.
//
//   vigil keygen      make agency, log, registry or witness keys
//   vigil record      build and sign one access record
//   vigil submit      submit records (JSON Lines or CSV) to a log
//   vigil checkpoint  fetch and verify the log's latest checkpoint
//   vigil prove       fetch and verify an entry's tlog-proof bundle
//   vigil verify      a court's offline check of a bundle
//   vigil open        check commitment openings against a record
//   vigil audit-tiles / prove-tiles   the same for a static tile log
//   vigil registry    register, rotate, revoke and list agency keys
//   vigil witness     a c2sp.org/tlog-witness server that cosigns checkpoints
//   vigil monitor     audit a log and flag prohibited lookups
//
// Every subcommand has --help and --json; exit codes are in client/cli.h
// and docs/cli.md.

#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "client/cli.h"
#include "server/mutex_mode.h"

int main(int argc, char** argv) {
  namespace cli = vigil::client::cli;
  vigil::SetMutexModeForBuild();
  CLI::App app{"vigil: a transparency log for inter-agency data lookups"};
  app.require_subcommand(1);
  int exit_code = cli::kExitError;
  try {
    cli::AddKeygenCommand(app, &exit_code);
    cli::AddRecordCommand(app, &exit_code);
    cli::AddSubmitCommand(app, &exit_code);
    cli::AddCheckpointCommand(app, &exit_code);
    cli::AddProveCommand(app, &exit_code);
    cli::AddVerifyCommand(app, &exit_code);
    cli::AddOpenCommand(app, &exit_code);
    cli::AddTileCommands(app, &exit_code);
    cli::AddRegistryCommand(app, &exit_code);
    cli::AddWitnessCommand(app, &exit_code);
    cli::AddMonitorCommand(app, &exit_code);
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? cli::kExitOk : cli::kExitError;
  } catch (const std::exception& e) {
    // Nothing of ours throws; this is a last line against a library that
    // does (an allocation failure, say), so the tool still exits cleanly.
    std::cerr << "vigil: " << e.what() << "\n";
    return cli::kExitError;
  }
  return exit_code;
}
