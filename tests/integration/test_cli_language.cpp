// The console speaks the plan's language (report.lang), with the report's words: a Spanish
// plan of exec and fs steps (no daemon needed) run through the built binary, its console
// checked against the English words the framework would otherwise print.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using testing::read_text;
using testing::write_text;

namespace {

// Every kind of line a successful run prints: steps on their own, a parallel group, a
// skipped step, destructive steps whose detail is shown, the summary and the last line.
std::string spanish_plan(const fs::path& dir) {
  return fmt::format(R"(version: 1
name: idioma
budget: 10m
vars:
  dir: {0}
  nunca: ""
steps:
  - id: copiar
    name: Copiar la configuración
    phase: restore
    action: fs.copy
    with: {{from: "${{dir}}/a.txt", to: "${{dir}}/b.txt"}}
  - id: volumenes
    name: Restaurar los volúmenes
    parallel:
      - id: uno
        name: Mover la copia
        phase: restore
        action: fs.move
        with: {{from: "${{dir}}/a2.txt", to: "${{dir}}/c.txt"}}
      - id: dos
        name: Marcar
        phase: restore
        action: exec.run
        destructive: true
        with: {{argv: [sh, -c, 'echo hecho > "$D/marca"'], env: {{D: "${{dir}}"}}}}
  - id: condicional
    name: Paso condicional
    when: nunca
    action: exec.run
    with: {{argv: ["true"]}}
  - id: limpiar
    name: Quitar la copia
    phase: restore
    action: fs.remove
    with: {{path: "${{dir}}/c.txt"}}
  - id: verificar
    name: Verificar
    phase: verify
    action: exec.run
    with: {{argv: [test, -f, "${{dir}}/marca"]}}
report:
  lang: es
)",
                     dir.string());
}

// Words of the framework's English that a Spanish run must not print (adapters' error
// messages are not among the lines a successful run shows).
const char* const kEnglishWords[] = {
    "in parallel", "skipped", "FAILED", "failed", "ignored", "with a warning", "not run", "dry run", "dry-run",
    "rehearsal", "budget", "exit ", "report:", "copied", "moved", "removed", "restored", "emptied", "entries",
    "every step", "succeeded", "completed", "INTERRUPTED", "ERROR", "running",
};

}  // namespace

TEST_CASE("a Spanish plan's console has no English framework words: step results, the parallel group, what "
          "destructive steps did, the summary and the report line",
          "[cli][language]") {
  testing::TempDir dir;
  write_text(dir / "a.txt", "config\n");
  write_text(dir / "a2.txt", "dos\n");
  write_text(dir / "plan.yaml", spanish_plan(dir.path()));
  auto r = testing::run_rollback({"--state-dir", (dir / "state").string(), (dir / "plan.yaml").string(), "--yes"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  for (const char* word : kEnglishWords) {
    INFO("English word on the console: \"" << word << "\"");
    CHECK(r.out.find(word) == std::string::npos);
  }
  // The same lines, in Spanish.
  CHECK_THAT(r.out, Catch::Contains("Restaurar los volúmenes, en paralelo: Mover la copia, Marcar\n"));
  CHECK_THAT(r.out, Catch::Contains("Copiar la configuración ... ok ("));
  CHECK_THAT(r.out, Catch::Contains("Marcar ... ok ("));
  CHECK_THAT(r.out, Catch::Contains("): sh: salida 0\n"));
  CHECK_THAT(r.out, Catch::Contains("Paso condicional ... omitido\n"));
  CHECK_THAT(r.out, Catch::Contains("c.txt eliminado (1 entradas)"));
  CHECK_THAT(r.out, Catch::Contains("ok: Todos los pasos terminaron bien."));
  CHECK_THAT(r.out, Catch::Contains(", presupuesto 10m00s, salida 0)"));
  auto report = testing::report_path_of(r.out);
  REQUIRE_FALSE(report.empty());
  CHECK(r.out.ends_with("reporte: " + report + "\n"));
  // The report says the steps' details in the same words.
  auto md = read_text(report);
  CHECK_THAT(md, Catch::Contains("a.txt copiado a ") && Catch::Contains("a2.txt movido a "));
}

TEST_CASE("the same plan in English keeps the English console", "[cli][language]") {
  testing::TempDir dir;
  write_text(dir / "a.txt", "config\n");
  write_text(dir / "a2.txt", "dos\n");
  auto text = spanish_plan(dir.path());
  text.replace(text.find("lang: es"), 8, "lang: en");
  write_text(dir / "plan.yaml", text);
  auto r = testing::run_rollback({"--state-dir", (dir / "state").string(), (dir / "plan.yaml").string(), "--yes"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("Restaurar los volúmenes, in parallel: Mover la copia, Marcar\n"));
  CHECK_THAT(r.out, Catch::Contains("Paso condicional ... skipped\n"));
  CHECK_THAT(r.out, Catch::Contains("c.txt (1 entries)"));
  CHECK_THAT(r.out, Catch::Contains("): sh: exit 0\n"));
  CHECK_THAT(r.out, Catch::Contains("ok: rollback completed: every step succeeded ("));
  CHECK(r.out.ends_with("report: " + testing::report_path_of(r.out) + "\n"));
}
