/*
 * Compiler attributes shared by the proxy modules, so the compiler checks
 * the contracts the comments state (sslsplit attrib.h does the same).
 */
#ifndef NAB_ATTRIB_H
#define NAB_ATTRIB_H

#define WUNRES		__attribute__((warn_unused_result))
#define NONNULL(...)	__attribute__((nonnull(__VA_ARGS__)))
#define PRINTF(f, a)	__attribute__((format(printf, f, a)))
#define UNUSED		__attribute__((unused))

#endif /* NAB_ATTRIB_H */
