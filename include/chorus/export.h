/* CHORUS_API marks what libchorus.so exports; everything else is hidden. */
#ifndef CHORUS_EXPORT_H
#define CHORUS_EXPORT_H

#if defined(_WIN32)
#define CHORUS_API
#else
#define CHORUS_API __attribute__((visibility("default")))
#endif

#endif
