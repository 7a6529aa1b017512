// Secret redaction. Every secret value read for a run is registered here; every path that
// writes text a person or a file will see (log sink, console, journal, report, error
// messages) passes it through redact(). Registration is process-wide because a secret
// must not leak through a path someone forgot to wire.
#pragma once

#include <string>
#include <string_view>

namespace rollback {

inline constexpr std::string_view kRedacted = "***";

// The shortest value register_secret accepts (plan::load_secrets refuses shorter ones).
inline constexpr size_t kShortestSecret = 6;

// Registers a secret value. Values shorter than kShortestSecret are ignored (they would
// match ordinary words; an empty one everywhere). Also
// registered: its percent-encoded form (as it stands in a URL) and the pieces between the
// delimiters a URL or DSN parser splits at (@ : / ?), when they are 4 bytes or longer: a
// parser's error may quote any of them.
void register_secret(std::string value);

// RFC 3986 percent-encoding: everything but unreserved characters (A-Z a-z 0-9 - . _ ~).
std::string percent_encode(std::string_view text);

// `text` with the credentials any text may carry replaced by "***", whether or not they
// were declared: the password of every URI (scheme://user:PASSWORD@host, raw or
// percent-encoded) and the values of password= and sslpassword= (query strings, libpq
// keyword DSNs "host=x password=y", quoted 'values' too).
std::string mask_credentials(std::string_view text);

// Returns `text` through mask_credentials, then with every registered secret replaced by
// "***". Longer secrets are replaced first, so a secret that contains another is hidden
// whole. Every sink (log, console, journal, report, JSON, error messages) calls this.
std::string redact(std::string_view text);

// For tests: forget every registered secret.
void clear_secrets();

}  // namespace rollback
