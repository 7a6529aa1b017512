#include <rollback/util/log.hpp>

#include <cstdio>
#include <mutex>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <rollback/util/redact.hpp>

namespace rollback {
namespace {

class RedactingStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    auto text = redact(std::string_view(formatted.data(), formatted.size()));
    std::fwrite(text.data(), 1, text.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

}  // namespace

void setup_logging(int verbosity) {
  auto sink = std::make_shared<RedactingStderrSink>();
  auto logger = std::make_shared<spdlog::logger>("rollback", sink);
  logger->set_pattern("%H:%M:%S %^%l%$ %v");
  auto level = verbosity < 0    ? spdlog::level::warn
               : verbosity == 0 ? spdlog::level::info
               : verbosity == 1 ? spdlog::level::debug
                                : spdlog::level::trace;
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

}  // namespace rollback
