#include "tests/test.h"
int main(void) { return TEST_SUMMARY(); }
