// Issues 11 and 16 item 1: spellings of one path, shared by the proxy and forward-auth tests.

/** Request path -> the path the upstream must receive (proxy mode), or 400 when it cannot be decoded without ambiguity. */
export const VARIANTS: ReadonlyArray<readonly [string, string | 400]> = [
  ['/payments', '/payments'],
  ['/%70ayments', '/payments'], // RFC 3986 6.2.2.2: an escaped letter is the letter
  ['/pay%6dents', '/payments'],
  ['/pay%6Dents', '/payments'], // mixed-case escape
  ['/payments/%31%32', '/payments/12'], // escaped digits
  ['/payments/', '/payments/'], // trailing slash kept
  ['//payments', '/payments'], // doubled slashes collapsed
  ['/payments//1', '/payments/1'],
  ['/PAYMENTS', '/PAYMENTS'], // case kept; rules ignore it
  ['/payments/caf%c3%a9', '/payments/caf%C3%A9'], // RFC 3986 6.2.2.1: escapes upper-cased
  ['/payments/%7e%41', '/payments/~A'],
  ['/payments/%3a%40%24%21%26%27%28%29%2a%2b%2c%3d', "/payments/:@$!&'()*+,="], // issue 16: every escape decoded, sub-delims included
  ['/payments/a%20b%22', '/payments/a%20b%22'], // decoded, then re-encoded outside pchar
  ['/payments/%cf%80', '/payments/%CF%80'],
  ['/payments/a%3fb', '/payments/a%3Fb'], // an encoded ? is a path character, re-encoded
  ['/payments/100%25', '/payments/100%25'],
  ['/payments/a|b', '/payments/a%7Cb'], // not allowed raw by RFC 3986: encoded
  ['/payments;jsessionid=1', 400], // path parameters: Tomcat/Spring strip them before routing
  ['/payments;', 400],
  ['/payments%3b', 400],
  ['/x/..;/payments', 400],
  ['/x/../payments', 400], // dot segments
  ['/x/./payments', 400],
  ['/x/%2e%2e/payments', 400], // encoded dot
  ['/x%2fpayments', 400], // encoded slash
  ['/x%5cpayments', 400], // encoded backslash
  ['/x\\payments', 400],
  ['/payments%00', 400], // NUL
  ['/payments%0a', 400], // control character
  ['/x/%252e%252e/payments', 400], // double encoding
  ['/x/%25%32%65%25%32%65/payments', 400], // double encoding with escaped hex digits: `%2e%2e` once decoded
  ['/payments/%E2%84%AA', 400], // issue 16: KELVIN SIGN, `K` to a case-folding upstream
  ['/payments/cafe%CC%81', 400], // not NFC
  ['/payments/%c0%ae', 400], // overlong UTF-8 for "."
  ['/payments/%ff', 400], // not UTF-8
  ['/payments/%e2%82', 400], // truncated UTF-8
  ['/payments/%zz', 400]
]
