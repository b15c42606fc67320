#include "app/program.hpp"

int main(int argc, char** argv) {
    return fireflies::run_program(argc, argv);
}
