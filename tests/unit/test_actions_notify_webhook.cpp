#include <catch2/catch.hpp>
#include <httplib.h>

#include <thread>

#include <rollback/actions/adapters.hpp>
#include <rollback/actions/notify.hpp>
#include <rollback/util/redact.hpp>

using namespace rollback;
using namespace rollback::actions;

namespace {

struct Received {
  std::string body, content_type, token;
  int count = 0;
};

// An HTTP server on a free 127.0.0.1 port, answering `status` and recording the request.
class FakeWebhook {
 public:
  explicit FakeWebhook(int status) {
    server_.Post("/hook", [this, status](const httplib::Request& req, httplib::Response& res) {
      received.body = req.body;
      received.content_type = req.get_header_value("Content-Type");
      received.token = req.get_header_value("X-Token");
      ++received.count;
      res.status = status;
      res.set_content(status == 200 ? "ok" : "boom", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~FakeWebhook() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  Received received;

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

int closed_port() {
  httplib::Server s;
  return s.bind_to_any_port("127.0.0.1");  // closed again when `s` goes away
}

Outcome run_webhook(nlohmann::json with) {
  proc::SystemRunner runner;
  ActionContext ctx{.step_id = "notify", .runner = runner,
                    .set_var = [](const std::string&, const std::string&) {},
                    .log = [](std::string_view) {}};
  return builtin_registry().find("notify.webhook")->run(ctx, Params(std::move(with)));
}

}  // namespace

TEST_CASE("webhook posts a Slack-compatible text message when no template is given", "[notify]") {
  FakeWebhook hook(200);
  auto outcome = run_webhook({{"url", hook.url()}, {"message", "rollback of app \"x\" done"}});
  CHECK(outcome.ok);
  CHECK(outcome.data["delivered"] == true);
  CHECK(outcome.message.starts_with("notification sent: POST"));
  REQUIRE(hook.received.count == 1);
  CHECK(nlohmann::json::parse(hook.received.body) ==
        nlohmann::json{{"text", "rollback of app \"x\" done"}});
  CHECK(hook.received.content_type == "application/json");
}

TEST_CASE("webhook sends a template body as written with its content type and headers", "[notify]") {
  FakeWebhook hook(200);
  auto outcome = run_webhook({{"url", hook.url()},
                              {"template", "rolled back to v1"},
                              {"content_type", "text/plain"},
                              {"headers", {{"X-Token", "abc"}}}});
  CHECK(outcome.ok);
  CHECK(hook.received.body == "rolled back to v1");
  CHECK(hook.received.content_type == "text/plain");
  CHECK(hook.received.token == "abc");
}

TEST_CASE("webhook to a closed port is reported as not delivered without failing the step", "[notify]") {
  auto url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/hook";
  auto outcome = run_webhook({{"url", url}, {"message", "hi"}, {"timeout", "2s"}});
  CHECK(outcome.ok);
  CHECK(outcome.message.starts_with("not delivered:"));
  CHECK(outcome.data["delivered"] == false);
  CHECK_FALSE(outcome.data["error"].get<std::string>().empty());
}

TEST_CASE("webhook answering 500 is reported as not delivered with the status", "[notify]") {
  FakeWebhook hook(500);
  auto outcome = run_webhook({{"url", hook.url()}, {"message", "hi"}});
  CHECK(outcome.ok);
  CHECK(outcome.message.starts_with("not delivered:"));
  CHECK(outcome.message.find("HTTP 500") != std::string::npos);
  CHECK(outcome.data["status"] == 500);
}

TEST_CASE("webhook secrets in headers and URL never reach the outcome", "[notify]") {
  clear_secrets();
  register_secret("s3cr3t-header");
  FakeWebhook hook(500);
  auto outcome = run_webhook({{"url", hook.url() + "?token=tok-in-url"},
                              {"message", "hi"},
                              {"headers", {{"X-Token", "s3cr3t-header"}}}});
  CHECK(hook.received.token == "s3cr3t-header");
  auto everything = outcome.message + outcome.data.dump() + outcome.log_excerpt;
  CHECK(everything.find("s3cr3t-header") == std::string::npos);
  CHECK(everything.find("tok-in-url") == std::string::npos);
  clear_secrets();
}

TEST_CASE("printable URLs hide passwords and query values", "[notify]") {
  CHECK(notify::display_url("https://u:pw@h.example/x?token=abc&b=2") ==
        "https://u:***@h.example/x?token=***&b=***");
  CHECK(notify::display_url("smtp://mail:25") == "smtp://mail:25");
}

TEST_CASE("webhook describes itself as a POST to its URL", "[notify]") {
  auto* action = builtin_registry().find("notify.webhook");
  REQUIRE(action);
  CHECK(action->describe(Params(nlohmann::json{{"url", "https://hooks.example/x"}})) == "POST https://hooks.example/x");
  CHECK_FALSE(action->destructive);
  CHECK_FALSE(action->read_only);
  CHECK(action->rerun_safe);
}

namespace {

std::vector<std::string> validation_errors(const std::string& action, const std::string& yaml) {
  plan::Diagnostics out;
  YAML::Node with = YAML::Load(yaml);
  plan::Location step{"plan.yaml", 1, 1};
  ParamCheck check("plan.yaml", with, step, out);
  builtin_registry().find(action)->validate(check);
  std::vector<std::string> messages;
  for (const auto& d : out) messages.push_back(d.message);
  return messages;
}

}  // namespace

TEST_CASE("webhook without message or template, or with a non-HTTP URL, is refused at load",
          "[notify]") {
  auto none = validation_errors("notify.webhook", "{url: 'https://x'}");
  REQUIRE(none.size() == 1);
  CHECK(none[0].find("needs `message`") != std::string::npos);
  auto ftp = validation_errors("notify.webhook", "{url: 'ftp://x', message: hi, timeout: soon}");
  CHECK(ftp.size() == 2);
  CHECK(validation_errors("notify.webhook", "{url: '${secrets.hook}', message: hi}").empty());
}

TEST_CASE("email with a non-SMTP URL, no recipients or half the credentials is refused at load",
          "[notify]") {
  CHECK(validation_errors("notify.email", "{smtp: 'http://x', from: a, to: [], subject: s, "
                                          "username: u}")
            .size() == 3);
  CHECK(validation_errors("notify.email", "{smtp: 'smtps://x:465', from: a, to: [b], subject: s}")
            .empty());
}

TEST_CASE("webhook that does not answer within its timeout is not delivered, promptly", "[notify]") {
  httplib::Server server;
  server.Post("/slow", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::seconds(3));
    res.status = 200;
  });
  int port = server.bind_to_any_port("127.0.0.1");
  std::thread thread([&] { server.listen_after_bind(); });
  auto started = std::chrono::steady_clock::now();
  auto outcome = run_webhook({{"url", "http://127.0.0.1:" + std::to_string(port) + "/slow"},
                              {"message", "hi"},
                              {"timeout", "500ms"}});
  auto took = std::chrono::steady_clock::now() - started;
  server.stop();
  thread.join();
  CHECK(outcome.ok);
  CHECK(outcome.message.starts_with("not delivered:"));
  CHECK(took < std::chrono::seconds(2));
}
