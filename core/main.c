#include <stdio.h>

#include "core-config.h"

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("siphon %s\n", SIPHON_VERSION_STRING);
    return 0;
}
