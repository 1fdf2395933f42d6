// Listen addresses: ParseHostPort and which hosts are loopback (a listener
// on any other needs TLS). The listener itself is exercised by the HTTP
// read path's and the witness server's tests, and over TLS by
// tests/e2e/tls_e2e_test.cc.

#include "server/http_listener.h"

#include <gtest/gtest.h>

namespace vigil::server {
namespace {

TEST(HostPortTest, ParsesHostAndPort) {
  EXPECT_EQ(*ParseHostPort("127.0.0.1:0"), (HostPort{"127.0.0.1", 0}));
  EXPECT_EQ(*ParseHostPort("localhost:65535"), (HostPort{"localhost", 65535}));
  EXPECT_EQ(*ParseHostPort("[::1]:80"), (HostPort{"::1", 80}));
  for (const char* bad : {"", ":80", "host", "host:", "host:65536", "host:-1",
                          "host:08", "::1:80", "[::1]80", "[::1]:", "h:1x"}) {
    EXPECT_FALSE(ParseHostPort(bad).ok()) << bad;
  }
}

TEST(HostPortTest, OnlyThisMachinesAddressesAreLoopback) {
  for (const char* host :
       {"localhost", "127.0.0.1", "127.255.0.9", "::1", "0:0:0:0:0:0:0:1"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host :
       {"0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "127.evil.example",
        "localhost.example", "", "::ffff:127.0.0.1", "vigil.example.gov"}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

}  // namespace
}  // namespace vigil::server
