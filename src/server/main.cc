#include "server/cli.h"

int main(int argc, char** argv) { return elastos::cli::Run(argc, argv); }
