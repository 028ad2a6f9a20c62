/*
 * renkei.c: the `renkei` program.
 *
 * Everything the program does lives in the modules; this file only hands the
 * command line to the cli module, which owns the one table of subcommands
 * (src/cli/cli_main.c). Keeping main this thin means every subcommand can be
 * tested by calling its handler from a test program.
 */
#include "cli.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
