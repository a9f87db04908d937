// The one translation unit that compiles Boost.Asio, Asio SSL and Boost.Beast (separate compilation).
// Every other file includes only their headers; see BOOST_ASIO_SEPARATE_COMPILATION in daemon/core/CMakeLists.txt.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
