# Imported targets for the dependencies that ship no CMake package (Debian 12): CAF 0.17 (core,
# io), LMDB and http-parser. Used by the build and by the installed ClusterKit package, so both
# find them the same way. Idempotent: a target that exists already is left alone.
# CAF::openssl is the TLS transport of the node-to-node traffic (TLS_CA / TLS_CERT / TLS_KEY).

if(NOT TARGET CAF::core)
  find_path(CAF_INCLUDE_DIR caf/all.hpp)
  find_library(CAF_CORE_LIBRARY caf_core)
  find_library(CAF_IO_LIBRARY caf_io)
  find_library(CAF_OPENSSL_LIBRARY caf_openssl)
  if(NOT CAF_INCLUDE_DIR OR NOT CAF_CORE_LIBRARY OR NOT CAF_IO_LIBRARY OR NOT CAF_OPENSSL_LIBRARY)
    message(FATAL_ERROR "CAF 0.17 not found: run scripts/setup.sh (installs libcaf-dev)")
  endif()
  file(STRINGS "${CAF_INCLUDE_DIR}/caf/config.hpp" _ck_caf_v REGEX "^#define CAF_VERSION [0-9]+")
  string(REGEX REPLACE ".*CAF_VERSION ([0-9]+).*" "\\1" _ck_caf_v "${_ck_caf_v}")
  if(_ck_caf_v LESS 1700 OR _ck_caf_v GREATER_EQUAL 1800)
    message(FATAL_ERROR "CAF 0.17.x required, found CAF_VERSION ${_ck_caf_v}")
  endif()
  add_library(CAF::core SHARED IMPORTED)
  set_target_properties(CAF::core PROPERTIES IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}" INTERFACE_LINK_LIBRARIES Threads::Threads)
  add_library(CAF::io SHARED IMPORTED)
  set_target_properties(CAF::io PROPERTIES IMPORTED_LOCATION "${CAF_IO_LIBRARY}"
    INTERFACE_LINK_LIBRARIES CAF::core)
  add_library(CAF::openssl SHARED IMPORTED)
  set_target_properties(CAF::openssl PROPERTIES IMPORTED_LOCATION "${CAF_OPENSSL_LIBRARY}"
    INTERFACE_LINK_LIBRARIES CAF::io)
endif()

if(NOT TARGET LMDB::lmdb)
  find_path(LMDB_INCLUDE_DIR lmdb.h)
  find_library(LMDB_LIBRARY lmdb)
  find_path(HTTP_PARSER_INCLUDE_DIR http_parser.h)
  find_library(HTTP_PARSER_LIBRARY http_parser)
  if(NOT LMDB_LIBRARY OR NOT HTTP_PARSER_LIBRARY)
    message(FATAL_ERROR "LMDB or http-parser not found: run scripts/setup.sh")
  endif()
  add_library(LMDB::lmdb UNKNOWN IMPORTED)
  set_target_properties(LMDB::lmdb PROPERTIES IMPORTED_LOCATION "${LMDB_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${LMDB_INCLUDE_DIR}")
  add_library(HttpParser::http_parser UNKNOWN IMPORTED)
  set_target_properties(HttpParser::http_parser PROPERTIES
    IMPORTED_LOCATION "${HTTP_PARSER_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${HTTP_PARSER_INCLUDE_DIR}")
endif()
