/* Test-only shim for running Dermal's Windows build under wine 8.0 (Debian 12), never shipped.
 * Go's runtime (since Go 1.22) takes its random numbers from ProcessPrng in Windows 10's
 * bcryptprimitives.dll and stops at start-up without it ("fatal error: bcryptprimitives.dll not
 * found"); wine 8.0 has no such DLL (wine 9 does). Every Windows that Dermal supports has it.
 * scripts/dist-test.sh builds this with mingw-w64 into the test's wine prefix only. It forwards
 * to RtlGenRandom (advapi32's SystemFunction036), which wine implements with the host's RNG. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
	while (length > 0) {
		ULONG n = length > 0x40000000 ? 0x40000000 : (ULONG)length;
		if (!SystemFunction036(data, n)) {
			return FALSE;
		}
		data += n;
		length -= n;
	}
	return TRUE;
}
