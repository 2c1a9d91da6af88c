# Installs ClusterKit as a CMake package:
#   P/bin/clusterkit                          the stock node binary (KV module only)
#   P/bin/clusterkit-ctl                      the command line (docs/cli.md)
#   P/include/clusterkit/...                  the headers, rooted as in the source tree; the
#                                             PUBLIC API is runtime/node/*.hpp (and the KV
#                                             module, runtime/kv/*.hpp); the rest is internal
#   P/lib/libck_*.a                           the layers' static libraries
#   P/lib/cmake/ClusterKit/                   ClusterKitConfig.cmake, targets, version
# Users: find_package(ClusterKit CONFIG REQUIRED) and link ClusterKit::clusterkit (a node
# binary) or ClusterKit::client (a program that talks to a cluster).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(_ck_libraries ck_config ck_storage ck_partition_hash ck_runtime ck_io ck_actors ck_http ck_http_api
    ck_node ck_kv ck_client)
foreach(lib IN LISTS _ck_libraries)
  target_include_directories(${lib} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/clusterkit>)
endforeach()

# The one target users link: the whole runtime plus the KV module (which a binary registers
# only if it wants the KV store).
add_library(ck_sdk INTERFACE)
target_link_libraries(ck_sdk INTERFACE ck_kv)
target_compile_features(ck_sdk INTERFACE cxx_std_17)
set_target_properties(ck_sdk PROPERTIES EXPORT_NAME clusterkit)

# The client library alone (no CAF, no server parts): ClusterKit::client.
set_target_properties(ck_client PROPERTIES EXPORT_NAME client)

install(TARGETS ${_ck_libraries} ck_sdk ck_warnings EXPORT ClusterKitTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/clusterkit)
install(TARGETS clusterkit clusterkit-ctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
foreach(dir actors config http runtime storage)
  install(DIRECTORY ${CMAKE_SOURCE_DIR}/${dir} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/clusterkit
          FILES_MATCHING PATTERN "*.hpp")
endforeach()

set(_ck_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/ClusterKit)
install(EXPORT ClusterKitTargets NAMESPACE ClusterKit:: DESTINATION ${_ck_cmake_dir})
configure_package_config_file(${CMAKE_SOURCE_DIR}/runtime/node/package/ClusterKitConfig.cmake.in
  ${CMAKE_BINARY_DIR}/ClusterKitConfig.cmake INSTALL_DESTINATION ${_ck_cmake_dir})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/ClusterKitConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/ClusterKitConfig.cmake
              ${CMAKE_BINARY_DIR}/ClusterKitConfigVersion.cmake
              ${CMAKE_SOURCE_DIR}/runtime/node/package/ClusterKitDeps.cmake
        DESTINATION ${_ck_cmake_dir})
