# cpack.cmake: the Debian package (cpack -G DEB), included by the top
# CMakeLists.txt. Build it with .ci/package.sh (docs/deploy.md): a
# /usr prefix, stripped release binary, gzipped man pages, dependencies
# from dpkg-shlibdeps, every file under /etc/nabproxy a conffile, and the
# maintainer scripts of this directory (nabproxy system user, its 0700
# state directory; the service is neither enabled nor started).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME nabproxy)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "nabproxy maintainers <nabproxy@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "transparent XMPP proxy and fixer for Nabaztag rabbits")
set(CPACK_PACKAGE_DESCRIPTION
"nabproxy sits between Nabaztag rabbits and an unmodified XMPP server
(Openfire, Prosody, ejabberd, jabberd2), performs SASL on the rabbits'
behalf, repairs what their firmware gets wrong, and logs the traffic in
the firmware's own [vm] format.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, procps")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prosody")
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
# Absolute destinations (/etc/nabproxy, /lib/systemd/system) go into the
# package's tree, never into the build machine's.
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)

# conffiles: every file installed under the configuration directory.
set(NAB_CONFFILES "${NAB_CONFDIR}/nabproxy.conf\n")
foreach(p ${NAB_PROFILES})
  get_filename_component(n ${p} NAME)
  string(APPEND NAB_CONFFILES "${NAB_CONFDIR}/profiles/${n}\n")
endforeach()
string(APPEND NAB_CONFFILES
  "${CMAKE_INSTALL_FULL_SYSCONFDIR}/logrotate.d/nabproxy\n")
file(WRITE ${CMAKE_BINARY_DIR}/debian/conffiles "${NAB_CONFFILES}")
foreach(script postinst postrm)
  configure_file(${CMAKE_CURRENT_LIST_DIR}/${script}.in
    ${CMAKE_BINARY_DIR}/debian/${script} @ONLY
    FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
    GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_BINARY_DIR}/debian/conffiles
  ${CMAKE_BINARY_DIR}/debian/postinst ${CMAKE_BINARY_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# copyright and changelog (compressed with the man pages) in the package's
# doc directory, as Debian policy wants them; a plain install gets them too.
install(FILES ${CMAKE_CURRENT_LIST_DIR}/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
if(NABPROXY_GZIP_MAN)
  add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/debian/changelog.gz
    COMMAND gzip -9n -c ${CMAKE_CURRENT_LIST_DIR}/changelog > ${CMAKE_BINARY_DIR}/debian/changelog.gz
    DEPENDS ${CMAKE_CURRENT_LIST_DIR}/changelog VERBATIM)
  add_custom_target(debchangelog ALL DEPENDS ${CMAKE_BINARY_DIR}/debian/changelog.gz)
  install(FILES ${CMAKE_BINARY_DIR}/debian/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})
else()
  install(FILES ${CMAKE_CURRENT_LIST_DIR}/changelog DESTINATION ${CMAKE_INSTALL_DOCDIR})
endif()
include(CPack)
