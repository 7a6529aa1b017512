#include <catch2/catch.hpp>

#include <rollback/actions/docker_stats.hpp>

using namespace rollback::actions::docker;

TEST_CASE("docker stats lines give memory and CPU percentages per container", "[actions][docker]") {
  std::string output =
      R"({"BlockIO":"0B / 0B","CPUPerc":"0.50%","Container":"3f2a","ID":"3f2a","MemPerc":"12.34%","MemUsage":"50MiB / 400MiB","Name":"agentsalud-api-1","NetIO":"1kB / 0B","PIDs":"12"})"
      "\n"
      R"({"CPUPerc":"--","Container":"9c1d","MemPerc":"--","Name":"agentsalud-worker-1"})"
      "\n\n"
      R"({"CPUPerc":"150.25%","MemPerc":"0.00%","Name":"agentsalud-db-1"})"
      "\nnot json\n";
  auto parsed = parse_docker_stats(output);
  REQUIRE(parsed.containers.size() == 2);
  CHECK(parsed.containers[0].name == "agentsalud-api-1");
  CHECK(parsed.containers[0].memory_percent == Approx(12.34));
  CHECK(parsed.containers[0].cpu_percent == Approx(0.5));
  CHECK(parsed.containers[1].cpu_percent == Approx(150.25));
  REQUIRE(parsed.problems.size() == 2);
  CHECK(parsed.problems[0].starts_with("line 2: docker stats: agentsalud-worker-1"));
  CHECK(parsed.problems[1].starts_with("line 5:"));
}

