// What every adapter file needs to register its actions. The registration functions
// themselves are declared and called by the one list in src/actions/registry.cpp
// (ROLLBACK_ADAPTERS): adding an adapter is one new file and one line there.
#pragma once

#include <rollback/actions/action.hpp>
