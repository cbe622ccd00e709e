# install/export so that find_package(affine CONFIG) works, fmt-style.
include(CMakePackageConfigHelpers)

install(TARGETS affine affine_viz EXPORT affineTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
foreach(dir include tensor/include autograd/include nn/include viz/include)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${dir}/affine DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
          FILES_MATCHING PATTERN "*.hpp")
endforeach()

set(AFFINE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/affine)
install(EXPORT affineTargets NAMESPACE affine:: DESTINATION ${AFFINE_CMAKE_DIR})

# The optional dist component: its own export file, loaded by find_package(affine COMPONENTS dist).
if(TARGET affine_dist)
  install(TARGETS affine_dist EXPORT affineDistTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/dist/include/affine DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
          FILES_MATCHING PATTERN "*.hpp")
  install(EXPORT affineDistTargets NAMESPACE affine:: DESTINATION ${AFFINE_CMAKE_DIR})
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/affineConfig.cmake.in
  ${PROJECT_BINARY_DIR}/affineConfig.cmake INSTALL_DESTINATION ${AFFINE_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/affineConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/affineConfig.cmake ${PROJECT_BINARY_DIR}/affineConfigVersion.cmake
        DESTINATION ${AFFINE_CMAKE_DIR})
