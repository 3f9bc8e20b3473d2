#include <cstdio>
int main() { std::puts("asr-adapt"); return 0; }
