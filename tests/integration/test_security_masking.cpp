// Issue 23, items 3 and 4, against the real binary: a password inside a DSN var leaks into
// no output (report.md, report.json, journal, --json lines, console, history, errors), and
// an application's logs in the incident log are data: credentials masked, no terminal
// escape bytes.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "support/http_servers.hpp"
#include "support/temp_dir.hpp"
#include "test_docker_support.hpp"

namespace fs = std::filesystem;
using testing::run_rollback;
using testing::TempDir;

namespace {

const std::string kDsn = "postgresql://u:Hunter2Pw@host/db?sslmode=disable&password=QP";

// Every regular file under `dir`, each as "path:\n content".
std::string slurp_tree(const fs::path& dir) {
  std::string all;
  if (!fs::exists(dir)) return all;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) all += e.path().string() + ":\n" + testing::read_text(e.path()) + "\n";
  return all;
}

// Where in `text` a credential shows, for the failure message.
std::string leaks(const std::string& text) {
  std::string found;
  for (const std::string needle : {"Hunter2Pw", "password=QP", "Hunter2", "2Pw"}) {
    auto at = text.find(needle);
    if (at != std::string::npos)
      found += "'" + needle + "' at: ..." + text.substr(at < 120 ? 0 : at - 120, 240) + "...\n";
  }
  return found;
}

// The DSN goes everywhere a value can go: a step's argv and output (stdout and stderr), an
// env value, a verify step that fails with it in its message.
const char* kPlan = R"(version: 1
name: dsnleak
vars:
  dsn: none
steps:
  - id: connect
    action: exec.run
    with: {argv: [sh, -c, 'echo "connecting to $DSN"; echo "error at $1" >&2', sh, "${dsn}"], env: {DSN: "${dsn}"}}
  - id: check
    phase: verify
    action: exec.run
    with: {argv: [sh, -c, 'echo "still down: $1"; exit 3', sh, "${dsn}"]}
)";

}  // namespace

TEST_CASE("a password inside a DSN var appears in no output file or stream", "[security][secrets]") {
  TempDir tmp;
  auto state = tmp / "state";
  testing::write_text(tmp / "dsnleak.yaml", kPlan);
  auto plan = (tmp / "dsnleak.yaml").string();

  auto run = run_rollback({"--state-dir", state.string(), "run", plan, "--yes", "--var", "dsn=" + kDsn});
  INFO(run.out << run.err);
  CHECK(run.exit_code != 0);  // the verify step fails, with the DSN in its message
  auto report = testing::report_path_of(run.out);
  REQUIRE(!report.empty());
  CHECK_THAT(testing::read_text(report), Catch::Contains("u:***@host/db?sslmode=disable&password=***"));

  auto json = run_rollback({"--state-dir", state.string(), "--json", "run", plan, "--yes", "--var", "dsn=" + kDsn});
  CHECK_THAT(json.out, Catch::Contains("run_finished"));
  auto history = run_rollback({"--state-dir", state.string(), "history"});
  auto history_json = run_rollback({"--state-dir", state.string(), "history", "--json"});
  CHECK(history_json.exit_code == 0);
  // An error message: a var the plan does not declare, quoted back with its value.
  auto unknown = run_rollback({"--state-dir", state.string(), "run", plan, "--yes", "--var", "dsn=" + kDsn, "--var",
                               "nosuch=" + kDsn});
  CHECK(unknown.exit_code != 0);

  std::string outputs;
  for (const auto* r : {&run, &json, &history, &history_json, &unknown}) outputs += r->out + "\n" + r->err + "\n";
  std::string files = slurp_tree(state) + slurp_tree(fs::path(report).parent_path());
  CHECK_THAT(files, Catch::Contains("journal.jsonl") && Catch::Contains("report.json"));
  CHECK(leaks(outputs) == "");
  CHECK(leaks(files) == "");
}

TEST_CASE("the incident log carries an app's logs as data: no DATABASE_URL password, no ESC or BEL byte",
          "[security][incident][docker]") {
  using namespace dockertest;
  require_engine();
  TempDir tmp;
  Cleanup cleanup;
  auto container = unique("rb-masking");
  cleanup.name_prefixes.push_back(container);
  // Colours, a window-title OSC ended by BEL, an OSC 8 hyperlink ended by ST, a C1 CSI.
  const std::string script =
      "echo 'DATABASE_URL=postgresql://app:PW@db/app'; "
      "printf '\\033[31mred\\033[0m \\033]0;owned\\007 \\033]8;;http://evil\\033\\\\link\\033]8;;\\033\\\\ "
      "\\302\\2332J done\\n'; sleep 600";
  REQUIRE(docker_rc({"run", "-d", "--name", container, image(), "sh", "-c", script}) == 0);
  testing::write_text(tmp / "incident.yaml", fmt::format(R"(version: 1
name: incident
kind: emergency
vars:
  container: {}
criteria:
  critical:
    - name: api down
      probe: {{action: http.probe, with: {{url: "http://127.0.0.1:{}/health"}}}}
      for: 2m
monitor:
  containers: {{filter: "${{container}}"}}
steps:
  - id: stop-app
    action: docker.stop
    with: {{filter: "${{container}}"}}
)",
                                                         container, testing::unused_port()));
  auto run = run_rollback({"run", (tmp / "incident.yaml").string(), "--yes", "--since", "15m", "--state-dir",
                           (tmp / "state").string()});
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  auto report = testing::read_text(testing::report_path_of(run.out));
  INFO(report);
  CHECK_THAT(report, Catch::Contains("DATABASE_URL=postgresql://app:***@db/app"));
  CHECK_THAT(report, Catch::Contains("\\x1b[31mred"));  // shown, not obeyed
  CHECK(report.find("PW") == std::string::npos);
  CHECK(report.find('\x1b') == std::string::npos);
  CHECK(report.find('\x07') == std::string::npos);
  CHECK(report.find("\xc2\x9b") == std::string::npos);
  auto twin = testing::read_text(fs::path(testing::report_path_of(run.out)).replace_extension(".json"));
  CHECK(twin.find("PW") == std::string::npos);
  CHECK(twin.find("\\u001b") == std::string::npos);
}
