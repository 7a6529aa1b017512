#include <catch2/catch.hpp>

#include <rollback/util/duration.hpp>
#include <rollback/util/fs.hpp>

using namespace rollback;

TEST_CASE("durations need a unit and accept compound forms", "[util]") {
  CHECK(parse_duration("500ms") == Millis(500));
  CHECK(parse_duration("30s") == Millis(30'000));
  CHECK(parse_duration("1h30m") == Millis(5'400'000));
  CHECK_FALSE(parse_duration("30"));
  CHECK_FALSE(parse_duration("5 minutes"));
  CHECK_FALSE(parse_duration(""));
}

TEST_CASE("sha256 matches the FIPS 180-4 test vectors", "[util]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
