/* json.h - the little JSON the reports need. */
#ifndef CAFFEOPT_JSON_H
#define CAFFEOPT_JSON_H

#include <stdio.h>

/* Write s as a JSON string literal (quotes, escapes); NULL writes "". */
void json_string(FILE *f, const char *s);

#endif
