#include <rollback/cli/app.hpp>

#include <cstdio>

namespace rollback::cli {

int main(int, char**) {
  std::puts("rollback: not yet wired");
  return 0;
}

}  // namespace rollback::cli
