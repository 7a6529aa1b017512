#include "strings.hpp"

#include <algorithm>

#include <rollback/util/text.hpp>

namespace rollback::report::detail {
namespace {

// What actions say (actions::Outcome::say), by phrase id: restore and backup details
// that the console shows after a destructive step, and the report beside each step.
constexpr Phrase kSpanishPhrases[] = {
    {"volume.restored", "volumen {} restaurado desde {} ({})"},
    {"volume.created", ", creado"},
    {"volume.emptied_first", ", vaciado antes"},
    {"volume.merged", ", sobre lo que ya tenía"},
    {"volume.forced", ", con contenedores en ejecución (force)"},
    {"volume.special_files", "; se omitieron {} archivo(s) especiales (dispositivos, FIFOs) y se quitó setuid/setgid a {} "
                             "(special_files: keep los restaura)"},
    {"volume.backed_up", "volumen {} -> {} ({}, {} de {}, {} entradas)"},
    {"volume.copied_live", ", copiado en vivo"},
    {"volume.paused_for", ", {} en pausa durante {}"},
    {"pg.dumped", "volcado de {} en {} ({} bytes, {})"},
    {"pg.restored", "{} restaurado en {} ({} bytes)"},
    {"pg.cluster_restored", "{} (pg_dumpall) restaurado en {}: {} base(s) de datos reemplazada(s), roles creados o "
                            "actualizados"},
    {"fs.copied_entries", "copiadas {} entradas de {} en {}"},
    {"fs.copied", "{} copiado a {}"},
    {"fs.moved", "{} movido a {}"},
    {"fs.exists", "{} existe"},
    {"fs.already_absent", "{} ya no existía"},
    {"fs.removed", "{} eliminado ({} entradas)"},
    {"exec.exited", "{}: salida {}"},
    {"docker.none_running", "ningún contenedor en ejecución coincide con {}"},
    {"docker.stopped", "{} contenedor(es) detenido(s) que coinciden con {}: {}"},
    {"compose.ran", "{} {}"},
    {"compose.logs_to", " -> {}"},
    {"compose.pinned", " (imágenes fijadas por {})"},
    {"compose.services_up", "; {} servicio(s) arriba"},
};

const Strings kEnglish{
    .title = "ROLLBACK REPORT", .date = "Date", .operator_name = "Executed by", .host = "Host",
    .plan = "Plan", .kind = "Rollback type", .run_id = "Run ID",
    .dry_run_banner = "**DRY RUN**: nothing was changed; destructive steps were only described.",
    .rehearsal_title = "REHEARSAL REPORT", .rehearsal_kind = "Rehearsal of {}",
    .rehearsal_banner = "**REHEARSAL**: the plan restored the target into throwaway copies labelled `{}` and "
                        "verified them; production was not touched and every copy was removed.",
    .reason_heading = "Reason for the Rollback", .no_reason = "[No reason given: add it here]",
    .versions_heading = "Versions", .from_version = "Rolled back from",
    .to_version = "Restored to", .target = "Target", .unknown = "unknown",
    .procedure_heading = "Procedure Executed",
    .st_ok = "ok", .st_warning = "ok, with a warning", .st_failed = "FAILED", .st_ignored = "failed (ignored: on_failure continue)",
    .st_skipped = "skipped", .st_not_run = "not run", .st_interrupted = "INTERRUPTED",
    .st_described = "dry-run, not run", .st_running = "running when the report was written",
    .attempts = "attempts",
    .time_heading = "Execution Time", .start = "Start", .end = "End", .total = "Total duration",
    .budget = "Budget", .over_budget = "OVER BUDGET by {}", .within_budget = "within budget",
    .no_budget = "no budget set",
    .active_note = "running time; {} from start to end, including the interruptions below",
    .interruption = "Interrupted at {}, resumed at {}",
    .plan_changed = "The plan file changed before this resume (sha256 {} at the start, {} when resumed); it was "
                    "resumed with --allow-changed-plan",
    .state_heading = "Post-Rollback State",
    .no_verify = "No verification step ran: the state after the rollback is unverified.",
    .state_ok = "OK", .state_error = "ERROR",
    .outcome_heading = "Outcome", .res_success = "SUCCESS", .res_step_failed = "STEP FAILED",
    .res_verify_failed = "VERIFICATION FAILED", .res_interrupted = "INTERRUPTED",
    .res_other = "ERROR", .exit_code = "exit code",
    .out_all_ok = "Every step succeeded.", .out_dry_ok = "Dry run complete: nothing was changed.",
    .out_dry_failed = "Dry run: the check at step {} ({}) failed: {}. Nothing was changed; the real run would not pass.",
    .out_failed = "Step {} ({}) failed: {}.",
    .out_verify_failed = "The rollback ran, but verification step {} ({}) failed: {}.",
    .out_interrupted = "Interrupted during step {} ({}); `rollback resume {}` continues it.",
    .out_not_run = "{} step(s) after it did not run: {}.",
    .out_ignored = "{} failure(s) ignored (on_failure: continue): {}.",
    .out_fell_back = "{} failed ({}); {} ran instead: ",
    .follow_heading = "Follow-up Actions", .fu_investigate = "Investigate failed step {} ({}): {}",
    .fu_undo = "To undo this rollback, run the plan with `--target {}`",
    .fu_resume = "Continue the interrupted run: `rollback resume {}`",
    .fu_verify = "Check the services by hand: post-rollback verification failed",
    .fu_none = "[None recorded]",
    .lessons_heading = "Lessons Learned",
    .lessons_placeholder = "[What could be improved for future deployments]",
    .logs_heading = "Relevant Log Excerpts", .no_logs = "No log output was kept.",
    .contacts_heading = "Escalation Contacts", .no_contacts = "[None listed in the plan]",
    .checklist_heading = "Manual Checklist",
    .in_parallel = "In parallel",
    .retention_heading = "Retention",
    .retention_kept = "Kept the newest {} targets matching `{}` in `{}`.",
    .retention_pruned = "Pruned (oldest beyond the limit): {}.",
    .retention_nothing = "Nothing was pruned.",
    .retention_beyond = "Kept beyond the limit: {}.",
    .retention_failed = "Could not prune {}: {}",
    .why_newest_verifying = "the newest target that verifies",
    .why_named_by_run = "named by an unfinished run's journal",
    .why_recent_pre_rollback = "a pre-rollback backup less than 7 days old",
    .offsite_heading = "Off-host copy",
    .offsite_pushed = "Copied to `{}` ({} file(s), {}) and checked there by {}.",
    .offsite_push_failed = "**The off-host copy failed**: {}. The verified local copy stays.",
    .offsite_downloaded = "Restored from the off-host copy: `{}` was only at `{}`. Downloaded ({} file(s), {}, {}), "
                          "proved whole before anything stopped, and kept at `{}`.",
    .offsite_pruned = "Off-host retention (keep {}): {}.",
    .phase_names = {"Assessment", "Backup of current state", "Stopping services",
                    "Restoring data", "Starting services", "Post-rollback validation",
                    "Notification"},
    .kind_names = {"Quick (quick)", "Full (full)", "Emergency (emergency)", "Coolify (coolify)",
                   "Git + SQL (git-sql)", "Backup (backup)", "Custom (custom)"},
    .fallback_heading = "Fallback",
    .fallback_first = "Plan **{}** ran first: **{}** ({} {}). {}",
    .fallback_times = "It ran from {} to {} ({}).",
    .fallback_why = "It handed over to its fallback, plan **{}**: {}",
    .fallback_note = "Note on the fallback: {}",
    .fallback_procedure = "Procedure of plan {}",
    .notify_heading = "Notifications",
    .notify_sent = "sent",
    .notify_failed = "NOT SENT",
    .notify_skipped = "not configured",
    .con_ok = "ok", .con_warning = "ok, with a warning", .con_failed = "FAILED", .con_ignored = "failed (ignored)",
    .con_skipped = "skipped", .con_dry_run = "dry-run", .con_interrupted = "INTERRUPTED", .con_not_run = "not run",
    .con_running = "running", .con_in_parallel = "in parallel: {}", .con_dry_run_prefix = "dry run ",
    .con_rehearsal_prefix = "rehearsal ", .con_res_failed = "FAILED", .con_res_verify_failed = "VERIFICATION FAILED",
    .con_res_interrupted = "INTERRUPTED", .con_res_other = "ERROR", .con_over_budget = ", OVER the {} budget",
    .con_budget = ", budget {}", .con_exit = "exit {}", .con_report = "report: {}",
    .con_rehearsal_proved = "rehearsal proved target {}: {} restore step(s) ran against throwaway copies and {} "
                            "verification step(s) passed{}; production was not touched and every copy was removed",
    .con_rehearsal_not_compared = "; not compared with production: {}",
    .con_rehearsal_failed = "rehearsal of target {} failed: {} Production was not touched and every copy was removed",
    .phrases = {},
    .inc_heading = "Incident Log",
    .inc_began = "Failure began", .inc_began_given = "as given with --since",
    .inc_fired = "Criteria that triggered the rollback", .inc_symptoms = "Symptoms observed",
    .inc_symptom = "failing since {}, {} check(s)", .inc_critical = "critical", .inc_warning = "warning",
    .inc_fired_mark = "fired", .inc_first = "first", .inc_last = "last", .inc_worst = "worst",
    .inc_action = "Action taken", .inc_action_target = "target {}",
    .inc_logs = "Relevant logs", .inc_no_logs = "none read: {}",
};

const Strings kSpanish{
    .title = "REPORTE DE ROLLBACK", .date = "Fecha", .operator_name = "Ejecutado por",
    .host = "Servidor", .plan = "Plan", .kind = "Tipo de Rollback", .run_id = "ID de ejecución",
    .dry_run_banner = "**SIMULACIÓN (dry-run)**: no se modificó nada; los pasos destructivos solo se describieron.",
    .rehearsal_title = "REPORTE DE ENSAYO", .rehearsal_kind = "Ensayo de {}",
    .rehearsal_banner = "**ENSAYO**: el plan restauró el objetivo en copias desechables etiquetadas `{}` y las "
                        "verificó; producción no se tocó y todas las copias se eliminaron.",
    .reason_heading = "Motivo del Rollback", .no_reason = "[Sin motivo indicado: agréguelo aquí]",
    .versions_heading = "Versión Anterior", .from_version = "Versión Rollback",
    .to_version = "Versión Restaurada", .target = "Objetivo", .unknown = "desconocida",
    .procedure_heading = "Procedimiento Ejecutado",
    .st_ok = "ok", .st_warning = "ok, con advertencia", .st_failed = "FALLÓ", .st_ignored = "falló (ignorado: on_failure continue)",
    .st_skipped = "omitido", .st_not_run = "no ejecutado", .st_interrupted = "INTERRUMPIDO",
    .st_described = "simulación, no ejecutado", .st_running = "en curso al escribir el reporte",
    .attempts = "intentos",
    .time_heading = "Tiempo de Ejecución", .start = "Inicio", .end = "Fin",
    .total = "Duración Total", .budget = "Presupuesto", .over_budget = "EXCEDE el presupuesto por {}",
    .within_budget = "dentro del presupuesto", .no_budget = "sin presupuesto definido",
    .active_note = "tiempo en ejecución; {} de principio a fin, contando las interrupciones siguientes",
    .interruption = "Interrumpido a las {}, reanudado a las {}",
    .plan_changed = "El archivo del plan cambió antes de esta reanudación (sha256 {} al inicio, {} al reanudar); se "
                    "reanudó con --allow-changed-plan",
    .state_heading = "Estado Post-Rollback",
    .no_verify = "No se ejecutó ninguna verificación: el estado posterior no está verificado.",
    .state_ok = "OK", .state_error = "ERROR",
    .outcome_heading = "Resultado", .res_success = "ÉXITO", .res_step_failed = "PASO FALLIDO",
    .res_verify_failed = "VERIFICACIÓN FALLIDA", .res_interrupted = "INTERRUMPIDO",
    .res_other = "ERROR", .exit_code = "código de salida",
    .out_all_ok = "Todos los pasos terminaron bien.",
    .out_dry_ok = "Simulación completa: no se modificó nada.",
    .out_dry_failed = "Simulación: la comprobación del paso {} ({}) falló: {}. No se modificó nada; la ejecución real no pasaría.",
    .out_failed = "El paso {} ({}) falló: {}.",
    .out_verify_failed = "El rollback se ejecutó, pero la verificación {} ({}) falló: {}.",
    .out_interrupted = "Interrumpido durante el paso {} ({}); `rollback resume {}` lo continúa.",
    .out_not_run = "{} paso(s) posteriores no se ejecutaron: {}.",
    .out_ignored = "{} fallo(s) ignorados (on_failure: continue): {}.",
    .out_fell_back = "{} falló ({}); en su lugar se ejecutó {}: ",
    .follow_heading = "Acciones de Seguimiento",
    .fu_investigate = "Investigar el paso fallido {} ({}): {}",
    .fu_undo = "Para deshacer este rollback, ejecutar el plan con `--target {}`",
    .fu_resume = "Continuar la ejecución interrumpida: `rollback resume {}`",
    .fu_verify = "Revisar los servicios manualmente: falló la verificación post-rollback",
    .fu_none = "[Ninguna registrada]",
    .lessons_heading = "Lecciones Aprendidas",
    .lessons_placeholder = "[Qué se puede mejorar para futuros deployments]",
    .logs_heading = "Extractos de Log Relevantes", .no_logs = "No se guardó salida de log.",
    .contacts_heading = "Contactos de Escalamiento", .no_contacts = "[El plan no lista contactos]",
    .checklist_heading = "Checklist Manual",
    .in_parallel = "En paralelo",
    .retention_heading = "Retención de backups",
    .retention_kept = "Se conservan los {} objetivos más recientes que coinciden con `{}` en `{}`.",
    .retention_pruned = "Eliminados (los más antiguos fuera del límite): {}.",
    .retention_nothing = "No se eliminó nada.",
    .retention_beyond = "Conservados fuera del límite: {}.",
    .retention_failed = "No se pudo eliminar {}: {}",
    .why_newest_verifying = "el objetivo más reciente que se verifica",
    .why_named_by_run = "lo nombra el journal de una ejecución sin terminar",
    .why_recent_pre_rollback = "un backup pre-rollback de menos de 7 días",
    .offsite_heading = "Copia fuera del host",
    .offsite_pushed = "Copiado a `{}` ({} archivo(s), {}) y comprobado allí con {}.",
    .offsite_push_failed = "**La copia fuera del host falló**: {}. La copia local verificada se conserva.",
    .offsite_downloaded = "Restaurado desde la copia fuera del host: `{}` solo estaba en `{}`. Descargado ({} "
                          "archivo(s), {}, {}), verificado entero antes de detener nada y conservado en `{}`.",
    .offsite_pruned = "Retención fuera del host (se conservan {}): {}.",
    .phase_names = {"Evaluación", "Backup de estado actual", "Detención de servicios",
                    "Restauración de datos", "Inicio de servicios", "Validación post-rollback",
                    "Notificación"},
    .kind_names = {"Rápido (quick)", "Completo (full)", "Emergencia (emergency)",
                   "Coolify (coolify)", "Git + SQL (git-sql)", "Backup (backup)",
                   "Personalizado (custom)"},
    .fallback_heading = "Plan de respaldo",
    .fallback_first = "Primero se ejecutó el plan **{}**: **{}** ({} {}). {}",
    .fallback_times = "Se ejecutó de {} a {} ({}).",
    .fallback_why = "Pasó el control a su plan de respaldo, **{}**: {}",
    .fallback_note = "Nota sobre el respaldo: {}",
    .fallback_procedure = "Procedimiento del plan {}",
    .notify_heading = "Notificaciones",
    .notify_sent = "enviada",
    .notify_failed = "NO ENVIADA",
    .notify_skipped = "no configurada",
    .con_ok = "ok", .con_warning = "ok, con advertencia", .con_failed = "FALLÓ", .con_ignored = "falló (ignorado)",
    .con_skipped = "omitido", .con_dry_run = "simulación", .con_interrupted = "INTERRUMPIDO",
    .con_not_run = "no ejecutado", .con_running = "en curso", .con_in_parallel = "en paralelo: {}",
    .con_dry_run_prefix = "simulación ", .con_rehearsal_prefix = "ensayo ", .con_res_failed = "FALLÓ",
    .con_res_verify_failed = "VERIFICACIÓN FALLIDA", .con_res_interrupted = "INTERRUMPIDO", .con_res_other = "ERROR",
    .con_over_budget = ", EXCEDE el presupuesto de {}", .con_budget = ", presupuesto {}", .con_exit = "salida {}",
    .con_report = "reporte: {}",
    .con_rehearsal_proved = "el ensayo probó el objetivo {}: {} paso(s) de restauración sobre copias desechables y {} "
                            "verificación(es) correctas{}; producción no se tocó y todas las copias se eliminaron",
    .con_rehearsal_not_compared = "; sin comparar con producción: {}",
    .con_rehearsal_failed = "el ensayo del objetivo {} falló: {} Producción no se tocó y todas las copias se eliminaron",
    .phrases = kSpanishPhrases,
    .inc_heading = "Log de Incidente",
    .inc_began = "Hora del fallo", .inc_began_given = "indicada con --since",
    .inc_fired = "Criterios que dispararon el rollback", .inc_symptoms = "Síntomas observados",
    .inc_symptom = "fallando desde {}, {} comprobación(es)", .inc_critical = "crítico", .inc_warning = "advertencia",
    .inc_fired_mark = "disparó", .inc_first = "primero", .inc_last = "último", .inc_worst = "peor",
    .inc_action = "Acción tomada", .inc_action_target = "objetivo {}",
    .inc_logs = "Logs relevantes", .inc_no_logs = "no se leyeron: {}",
};

}  // namespace

const Strings& strings_for(std::string_view lang) { return lang == "es" ? kSpanish : kEnglish; }

std::string fill(std::string_view pattern, const std::vector<std::string>& args) {
  return fill_placeholders(pattern, args);
}

std::string step_message(const Strings& s, const engine::StepRecord& step) {
  if (s.phrases.empty() || !step.data.is_object()) return step.message;
  auto it = step.data.find("phrases");
  if (it == step.data.end() || !it->is_object() || it->value("text", std::string()) != step.message) return step.message;
  auto parts = it->value("parts", nlohmann::json::array());
  if (!parts.is_array() || parts.empty()) return step.message;
  std::string out;
  for (const auto& part : parts) {
    if (!part.is_object()) return step.message;
    auto id = part.value("id", std::string());
    auto known = std::find_if(s.phrases.begin(), s.phrases.end(), [&](const Phrase& p) { return p.id == id; });
    if (known == s.phrases.end()) return step.message;
    std::vector<std::string> args;
    for (const auto& arg : part.value("args", nlohmann::json::array()))
      args.push_back(arg.is_string() ? arg.get<std::string>() : arg.dump());
    out += fill(known->text, args);
  }
  return out;
}

std::string_view phase_label(const Strings& s, plan::Phase phase) {
  return s.phase_names[static_cast<int>(phase)];
}

std::string_view result_label(const Strings& s, ExitCode code) {
  switch (code) {
    case ExitCode::Success: return s.res_success;
    case ExitCode::StepFailed: return s.res_step_failed;
    case ExitCode::VerifyFailed: return s.res_verify_failed;
    case ExitCode::Interrupted: return s.res_interrupted;
    default: return s.res_other;
  }
}

std::string status_label(const Strings& s, const engine::StepRecord& step) {
  using engine::StepStatus;
  switch (step.status) {
    case StepStatus::Ok: return std::string(step.warning ? s.st_warning : s.st_ok);
    case StepStatus::Failed: return std::string(step.failure_ignored ? s.st_ignored : s.st_failed);
    case StepStatus::Skipped: return std::string(s.st_skipped);
    case StepStatus::Pending: return std::string(s.st_not_run);
    case StepStatus::Interrupted: return std::string(s.st_interrupted);
    case StepStatus::Described: return std::string(s.st_described);
    case StepStatus::Running: return std::string(s.st_running);
  }
  return std::string(s.st_not_run);
}

}  // namespace rollback::report::detail
