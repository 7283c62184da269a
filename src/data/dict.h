/* Small word lists for fake names, streets and cities (dict.c). Written for
 * doppel by hand, plain ASCII letters and spaces only, so a fake drops into
 * any column or email local part without escaping. */
#ifndef DOPPEL_DATA_DICT_H
#define DOPPEL_DATA_DICT_H

#include <stddef.h>

typedef struct dp_dict {
	const char *const *words;
	size_t n;
} dp_dict;

extern const dp_dict dp_dict_first_names;
extern const dp_dict dp_dict_last_names;
extern const dp_dict dp_dict_streets;
extern const dp_dict dp_dict_street_suffixes;
extern const dp_dict dp_dict_cities;

#endif
