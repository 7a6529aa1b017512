// PostgreSQL's control file (global/pg_control), read without PostgreSQL: a data directory
// whose pg_control is missing or fails its CRC cannot start ("could not open file
// global/pg_control", a restart loop). A volume copied while its cluster was still being
// initialised (initdb writes pg_control last) has PG_VERSION but no pg_control.
#pragma once

#include <cstdint>
#include <string_view>

namespace rollback {

// CRC-32C (Castagnoli), as PostgreSQL computes it (init and final xor 0xFFFFFFFF).
std::uint32_t crc32c(std::string_view data);

// True when `file` (the start of a pg_control, 8 KiB on disk) holds a control record whose
// stored CRC matches: the CRC field follows the record and its offset differs between
// major versions, so every 4-byte-aligned offset of the first KiB is tried.
bool pg_control_reads(std::string_view file);

}  // namespace rollback
