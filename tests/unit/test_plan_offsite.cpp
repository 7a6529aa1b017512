// `offsite:` at load time: what a plan may name as its off-host remote, located errors for
// what it may not, and the remote bound with its RCLONE_* environment.
#include <catch2/catch.hpp>

#include <rollback/plan/interpolate.hpp>
#include <rollback/plan/loader.hpp>
#include <rollback/plan/offsite.hpp>

#include "plan_fake_registry.hpp"

using namespace rollback;

namespace {

plan::LoadResult load(const std::string& offsite, const std::string& kind = "backup") {
  return plan::load_plan_text("version: 1\nname: b\nkind: " + kind +
                                  "\nvars: {where: \"s3:bucket/staging\"}\n"
                                  "target: {from: dir, dir: /backups}\n"
                                  "offsite: " + offsite +
                                  "\nsteps:\n  - {id: a, action: wait.sleep, with: {duration: 1ms}}\n",
                              "p.yaml", testing::plan_test_registry());
}

std::string errors_of(const plan::LoadResult& r) {
  std::string out;
  for (const auto& d : r.diagnostics) out += d.str() + "\n";
  return out;
}

}  // namespace

TEST_CASE("offsite reads an rclone remote, keep and RCLONE_ variables, and binds them", "[plan][offsite]") {
  auto r = load("{remote: \"${where}\", keep: 30, env: {RCLONE_CONFIG_S3_TYPE: s3}}");
  INFO(errors_of(r));
  REQUIRE(r.plan);
  CHECK(r.plan->offsite.keep == 30);
  CHECK(r.plan->offsite.where.line == 6);
  plan::Scope scope;
  scope.set_var("where", "s3:bucket/staging");
  auto bound = plan::bind_offsite(*r.plan, scope);
  REQUIRE(bound);
  REQUIRE(*bound);
  CHECK((*bound)->remote == "s3:bucket/staging");
  CHECK((*bound)->env.at("RCLONE_CONFIG_S3_TYPE") == "s3");
}

TEST_CASE("offsite refuses a local path, an option, an inline remote, a stray variable and keep outside a backup, "
          "each at its place",
          "[plan][offsite]") {
  CHECK_THAT(errors_of(load("{remote: /mnt/usb}")),
             Catch::Contains("p.yaml:6:19: offsite.remote: '/mnt/usb' is a local path"));
  CHECK_THAT(errors_of(load("{remote: \"-config=x:y\"}")), Catch::Contains("starts with '-'"));
  CHECK_THAT(errors_of(load("{remote: \":s3,access_key_id=AKIA:bucket\"}")),
             Catch::Contains("is an inline remote, whose keys would show in every process listing"));
  CHECK_THAT(errors_of(load("{remote: \"s3:b\", env: {AWS_SECRET_ACCESS_KEY: x}}")),
             Catch::Contains("offsite.env: 'AWS_SECRET_ACCESS_KEY' is not an rclone variable"));
  CHECK_THAT(errors_of(load("{remote: \"s3:b\", keep: 3}", "quick")),
             Catch::Contains("offsite.keep: only a plan of kind backup prunes the remote"));
  CHECK_THAT(errors_of(load("{keep: 3}")), Catch::Contains("offsite: missing required key 'remote'"));
  CHECK_THAT(errors_of(load("{remote: \"s3:b\", bucket: x}")), Catch::Contains("bucket"));
}

TEST_CASE("check_remote takes NAME:path and refuses what rclone would read as something else", "[plan][offsite]") {
  CHECK(plan::check_remote("s3:bucket/staging").empty());
  CHECK(plan::check_remote("vault:").empty());
  CHECK(plan::check_remote("my-remote.2:a/b c").empty());
  CHECK_FALSE(plan::check_remote("").empty());
  CHECK_FALSE(plan::check_remote("backups").empty());
  CHECK_FALSE(plan::check_remote("./s3:x").empty());
  CHECK_FALSE(plan::check_remote("bad name:x").empty());
}
