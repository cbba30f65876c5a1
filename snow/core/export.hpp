// snow/core/export.hpp: SNOW_API, which marks what libsnow.so exports. The library is built
// with hidden visibility, so only the classes and functions marked here (the public API, and
// the few internals that public inline code calls) enter its dynamic symbol table: the ABI
// stays the documented surface, and calls inside the library bind locally. In a static
// build the mark changes nothing.
#pragma once

#define SNOW_API __attribute__((visibility("default")))
