#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include <rollback/actions/adapters.hpp>
#include <rollback/actions/notify.hpp>
#include <rollback/util/redact.hpp>

using namespace rollback;
using namespace rollback::actions;

namespace {

// Just enough of RFC 5321 for one message: greets, accepts every command, records the
// envelope and the DATA section.
class FakeSmtp {
 public:
  explicit FakeSmtp(bool reject_recipients = false) : reject_recipients_(reject_recipients) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    REQUIRE(::listen(listen_fd_, 1) == 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeSmtp() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    finish();
    ::close(listen_fd_);
  }
  // Waits until the one session ended (after QUIT); then the recorded fields are stable.
  void finish() {
    if (thread_.joinable()) thread_.join();
  }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }

  std::string mail_from, data, auth;
  std::vector<std::string> rcpt_to;

 private:
  void serve() {
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;
    auto say = [fd](std::string line) {
      line += "\r\n";
      (void)!::write(fd, line.data(), line.size());
    };
    say("220 fake ESMTP");
    std::string buffer;
    bool in_data = false;
    char chunk[4096];
    while (true) {
      auto n = ::read(fd, chunk, sizeof chunk);
      if (n <= 0) break;
      buffer.append(chunk, n);
      size_t eol;
      while ((eol = buffer.find("\r\n")) != std::string::npos) {
        std::string line = buffer.substr(0, eol);
        buffer.erase(0, eol + 2);
        if (in_data) {
          if (line == ".") {
            in_data = false;
            say("250 queued");
          } else {
            data += line + "\r\n";
          }
        } else if (line.starts_with("EHLO") || line.starts_with("HELO")) {
          say("250-fake\r\n250 AUTH PLAIN");
        } else if (line.starts_with("AUTH")) {
          auth = line;
          say("235 ok");
        } else if (line.starts_with("MAIL FROM:")) {
          mail_from = line.substr(10);
          say("250 ok");
        } else if (line.starts_with("RCPT TO:")) {
          rcpt_to.push_back(line.substr(8));
          say(reject_recipients_ ? "550 no such user" : "250 ok");
        } else if (line == "DATA") {
          in_data = true;
          say("354 go ahead");
        } else if (line == "QUIT") {
          say("221 bye");
          ::close(fd);
          return;
        } else {
          say("250 ok");
        }
      }
    }
    ::close(fd);
  }
  bool reject_recipients_ = false;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

Outcome run_email(nlohmann::json with) {
  proc::SystemRunner runner;
  ActionContext ctx{.step_id = "mail", .runner = runner,
                    .set_var = [](const std::string&, const std::string&) {},
                    .log = [](std::string_view) {}};
  return builtin_registry().find("notify.email")->run(ctx, Params(std::move(with)));
}

}  // namespace

TEST_CASE("email reaches the SMTP relay with envelope, headers and body", "[notify]") {
  FakeSmtp smtp;
  auto outcome = run_email({{"smtp", smtp.url()},
                            {"from", "Rollback <rollback@example.com>"},
                            {"to", {"devops@example.com", "alerts@example.com"}},
                            {"subject", "Rollback done"},
                            {"body", "Staging is back on v1.\n.hidden line\n"}});
  smtp.finish();
  CHECK(outcome.ok);
  CHECK(outcome.data["delivered"] == true);
  CHECK(outcome.message ==
        "notification sent: mail to devops@example.com, alerts@example.com via " + smtp.url());
  CHECK(smtp.mail_from.find("<rollback@example.com>") != std::string::npos);
  REQUIRE(smtp.rcpt_to.size() == 2);
  CHECK(smtp.rcpt_to[0] == "<devops@example.com>");
  CHECK(smtp.rcpt_to[1] == "<alerts@example.com>");
  CHECK(smtp.data.find("From: Rollback <rollback@example.com>\r\n") != std::string::npos);
  CHECK(smtp.data.find("To: devops@example.com, alerts@example.com\r\n") != std::string::npos);
  CHECK(smtp.data.find("Subject: Rollback done\r\n") != std::string::npos);
  CHECK(smtp.data.find("Date: ") != std::string::npos);
  CHECK(smtp.data.find("Content-Type: text/plain; charset=utf-8\r\n") != std::string::npos);
  CHECK(smtp.data.find("\r\n\r\nStaging is back on v1.\r\n") != std::string::npos);
  // libcurl dot-stuffs a line starting with "." (RFC 5321 4.5.2).
  CHECK(smtp.data.find("\r\n..hidden line\r\n") != std::string::npos);
}

TEST_CASE("email password never appears in the outcome when the relay is down", "[notify]") {
  clear_secrets();
  int port;
  {
    FakeSmtp probe;  // take a free port, then close it
    port = std::stoi(probe.url().substr(probe.url().rfind(':') + 1));
    // connect and quit so the fake's thread ends
    run_email({{"smtp", probe.url()}, {"from", "a@b"}, {"to", "c@d"}, {"subject", "s"}});
  }
  auto outcome = run_email({{"smtp", "smtp://127.0.0.1:" + std::to_string(port)},
                            {"from", "a@b"}, {"to", "c@d"}, {"subject", "s"},
                            {"username", "ops"}, {"password", "pa55-word"}, {"timeout", "2s"}});
  CHECK(outcome.ok);
  CHECK(outcome.message.starts_with("not delivered:"));
  CHECK(outcome.data["delivered"] == false);
  CHECK((outcome.message + outcome.data.dump()).find("pa55-word") == std::string::npos);
  clear_secrets();
}

TEST_CASE("mail headers cannot be extended through values and non-ASCII subjects are encoded",
          "[notify]") {
  notify::Mail mail{"ops@example.com", {"a@example.com\r\nBcc: evil@example.com"},
                    "Reversión completada", "hola", std::chrono::system_clock::time_point{}};
  auto text = notify::format_mail(mail);
  CHECK(text.find("\r\nBcc:") == std::string::npos);
  CHECK(text.find("Subject: =?UTF-8?B?") != std::string::npos);
  CHECK(text.find("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n") != std::string::npos);
  CHECK(notify::envelope_address("Ops Team <ops@example.com>") == "ops@example.com");
  CHECK(notify::envelope_address(" ops@example.com ") == "ops@example.com");
}

TEST_CASE("email describes its recipients and relay", "[notify]") {
  auto* action = builtin_registry().find("notify.email");
  REQUIRE(action);
  CHECK(action->describe(Params(nlohmann::json{{"smtp", "smtp://mail:25"}, {"to", {"a@x", "b@x"}}})) ==
        "mail to a@x, b@x via smtp://mail:25");
}

TEST_CASE("email refused by the relay is not delivered and says what the relay answered",
          "[notify]") {
  FakeSmtp smtp(true);
  auto outcome = run_email({{"smtp", smtp.url()}, {"from", "a@b"}, {"to", "nobody@x"},
                            {"subject", "s"}, {"body", "b"}});
  smtp.finish();
  CHECK(outcome.ok);
  CHECK(outcome.message.starts_with("not delivered: mail to nobody@x via smtp://127.0.0.1:"));
  CHECK(outcome.data["delivered"] == false);
  CHECK(smtp.data.empty());
}
