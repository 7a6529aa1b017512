// Which failures of a request that changes something leave its effect unknown (issue 24):
// Coolify's change calls by libcurl error and HTTP status, and `git push` by what git said.
// Only a failure before the request left, or the remote's own "not done", means "nothing
// changed"; everything else is unknown.
#include <catch2/catch.hpp>

#include <curl/curl.h>

#include <rollback/actions/coolify.hpp>
#include <rollback/actions/git.hpp>

namespace {

using rollback::actions::coolify::may_have_reached;
using rollback::actions::coolify::status_leaves_unknown;
using rollback::actions::git::classify_push;
using rollback::actions::git::PushResult;
using rollback::proc::Completed;

Completed exited(int code, std::string out, std::string err) {
  Completed c;
  c.exit_code = code;
  c.out = std::move(out);
  c.err = std::move(err);
  return c;
}

}  // namespace

TEST_CASE("a Coolify change request that failed before it was sent surely changed nothing",
          "[coolify][unknown]") {
  for (auto code : {CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY,
                    CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_URL_MALFORMAT,
                    CURLE_UNSUPPORTED_PROTOCOL, CURLE_SSL_CACERT_BADFILE}) {
    INFO(curl_easy_strerror(code));
    CHECK_FALSE(may_have_reached(code, false));
    CHECK_FALSE(may_have_reached(code, true));  // these are raised before anything is written
  }
  // A timeout while connecting or in the TLS handshake: nothing was sent yet.
  CHECK_FALSE(may_have_reached(CURLE_OPERATION_TIMEDOUT, false));
}

TEST_CASE(
    "a Coolify change request that timed out or lost its connection once sent has an unknown "
    "effect",
    "[coolify][unknown]") {
  CHECK(may_have_reached(CURLE_OPERATION_TIMEDOUT, true));
  for (auto code : {CURLE_GOT_NOTHING, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_PARTIAL_FILE,
                    CURLE_WEIRD_SERVER_REPLY, CURLE_HTTP2, CURLE_OUT_OF_MEMORY}) {
    INFO(curl_easy_strerror(code));
    CHECK(may_have_reached(code, true));
    CHECK(may_have_reached(code, false));  // when in doubt, unknown
  }
}

TEST_CASE("a 5xx to a Coolify change request is unknown, a 2xx, 3xx or 4xx is an answer",
          "[coolify][unknown]") {
  for (long status : {500L, 502L, 503L, 504L, 599L, 100L}) CHECK(status_leaves_unknown(status));
  for (long status : {200L, 201L, 302L, 400L, 401L, 404L, 422L, 429L})
    CHECK_FALSE(status_leaves_unknown(status));
}

TEST_CASE(
    "git push: pushed, refused by git's own check or by the remote, or never connected is not "
    "unknown",
    "[git][unknown]") {
  CHECK(
      classify_push(
          exited(0, "To /srv/origin.git\n+\tabc:refs/heads/main\tc..a (forced update)\nDone\n", ""),
          "main")
          .result == PushResult::Pushed);
  auto stale = classify_push(
      exited(1, "To /srv/origin.git\n!\tabc:refs/heads/main\t[rejected] (stale info)\nDone\n",
             "error: failed to push"),
      "main");
  CHECK(stale.result == PushResult::Refused);
  CHECK_THAT(stale.reason, Catch::Contains("stale info"));
  CHECK(classify_push(
            exited(1, "To x\n!\tabc:refs/heads/main\t[rejected] (non-fast-forward)\nDone\n", ""),
            "main")
            .result == PushResult::Refused);
  CHECK(
      classify_push(
          exited(
              1,
              "To x\n!\tabc:refs/heads/main\t[remote rejected] (pre-receive hook declined)\nDone\n",
              "remote: protected branch\n"),
          "main")
          .result == PushResult::Refused);
  for (const char* err :
       {"ssh: connect to host git.example.com port 22: Connection refused\r\nfatal: Could not read "
        "from remote "
        "repository.\n\nPlease make sure you have the correct access rights",
        "ssh: Could not resolve hostname git.example.com: Name or service not known\r\nfatal: "
        "Could not read from "
        "remote repository.",
        "fatal: unable to access 'https://git.example.com/app.git/': Could not resolve host: "
        "git.example.com",
        "remote: Invalid username or password.\nfatal: Authentication failed for "
        "'https://git.example.com/app.git/'",
        "fatal: could not read Username for 'https://git.example.com': terminal prompts disabled",
        "git@git.example.com: Permission denied (publickey).\r\nfatal: Could not read from remote "
        "repository.",
        "fatal: '/srv/gone.git' does not appear to be a git repository\nfatal: Could not read from "
        "remote repository.",
        "fatal: unable to access 'https://git.example.com/app.git/': The requested URL returned "
        "error: 403"}) {
    INFO(err);
    CHECK(classify_push(exited(128, "", err), "main").result == PushResult::Refused);
  }
}

TEST_CASE(
    "git push killed, interrupted, cut off after sending or failing unexplained has an unknown "
    "result",
    "[git][unknown]") {
  auto killed = exited(-1, "", "");
  killed.timed_out = true;
  auto verdict = classify_push(killed, "main");
  CHECK(verdict.result == PushResult::Unknown);
  CHECK_THAT(verdict.reason, Catch::Contains("deadline"));
  auto interrupted = exited(-1, "", "");
  interrupted.cancelled = true;
  CHECK(classify_push(interrupted, "main").result == PushResult::Unknown);
  auto signalled = exited(-1, "", "");
  signalled.term_signal = 9;
  CHECK(classify_push(signalled, "main").result == PushResult::Unknown);
  for (const char* err :
       {"error: RPC failed; HTTP 500 curl 22 The requested URL returned error: 500\nsend-pack: "
        "unexpected disconnect "
        "while reading sideband packet\nfatal: the remote end hung up unexpectedly",
        "error: RPC failed; curl 28 Operation timed out after 300000 milliseconds\nfatal: unable "
        "to access",
        "Connection to git.example.com closed by remote host.\r\nfatal: the remote end hung up "
        "unexpectedly",
        "client_loop: send disconnect: Broken pipe", "fatal: early EOF",
        "something git has never said"}) {
    INFO(err);
    CHECK(classify_push(exited(128, "", err), "main").result == PushResult::Unknown);
  }
  // The remote failed to say what it did with the ref.
  CHECK(classify_push(
            exited(
                1,
                "To x\n!\tabc:refs/heads/main\t[remote failure] (remote failed to report status)\n",
                ""),
            "main")
            .result == PushResult::Unknown);
  // Another branch's status says nothing about ours.
  CHECK(classify_push(exited(1, "To x\n!\tabc:refs/heads/other\t[rejected] (stale info)\n", ""),
                      "main")
            .result == PushResult::Unknown);
}

TEST_CASE(
    "a push whose result is unknown says what to check with git ls-remote and holds off a fallback",
    "[git][unknown]") {
  auto killed = exited(-1, "", "");
  killed.timed_out = true;
  auto verdict = classify_push(killed, "main");
  std::string pushed(40, 'a'), lease(40, 'c');
  auto o = rollback::actions::git::push_left_unknown({"/srv/app", "origin", "main", pushed, lease},
                                                     verdict, killed);
  CHECK_FALSE(o.ok);
  CHECK_FALSE(o.transient);
  CHECK_THAT(o.message, Catch::Contains("result unknown") &&
                            Catch::Contains("git -C /srv/app ls-remote origin refs/heads/main") &&
                            Catch::Contains(pushed + " means the push landed") &&
                            Catch::Contains(lease));
  REQUIRE(o.data.contains("failure_left_changes"));
  CHECK_THAT(o.data["check"].get<std::string>(), Catch::Contains("ls-remote"));
  CHECK(o.data["pushed"] == "unknown");
}
