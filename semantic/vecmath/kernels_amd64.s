#include "textflag.h"

// func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL eaxArg+0(FP), AX
	MOVL ecxArg+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv() uint32
TEXT ·xgetbv(SB), NOSPLIT, $0-4
	MOVL $0, CX
	XGETBV
	MOVL AX, ret+0(FP)
	RET

// func dotAVX(a, b *float32, n int) float32
TEXT ·dotAVX(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

dot32:
	CMPQ CX, $32
	JL   dot8
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  dot32

dot8:
	CMPQ CX, $8
	JL   dotreduce
	VMOVUPS (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  dot8

dotreduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0

dottail:
	CMPQ CX, $0
	JE   dotdone
	VMOVSS (SI), X4
	VFMADD231SS (DI), X4, X0
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  dottail

dotdone:
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotsInt8AVX(codes *int8, q *int16, stride, rows int, out *int32)
//
// stride is a multiple of 16. Each step sign-extends 16 codes to int16 and
// VPMADDWD multiplies them by 16 query codes into 8 int32 pair sums.
TEXT ·dotsInt8AVX(SB), NOSPLIT, $0-40
	MOVQ codes+0(FP), SI
	MOVQ q+8(FP), DX
	MOVQ stride+16(FP), CX
	MOVQ rows+24(FP), R8
	MOVQ out+32(FP), DI

row:
	TESTQ R8, R8
	JZ    rowsdone
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	XORQ  BX, BX
	MOVQ  DX, R9

codes32:
	LEAQ 32(BX), AX
	CMPQ AX, CX
	JG   codes16
	VPMOVSXBW (SI)(BX*1), Y2
	VPMOVSXBW 16(SI)(BX*1), Y3
	VPMADDWD (R9), Y2, Y2
	VPMADDWD 32(R9), Y3, Y3
	VPADDD Y2, Y0, Y0
	VPADDD Y3, Y1, Y1
	MOVQ AX, BX
	ADDQ $64, R9
	JMP  codes32

codes16:
	CMPQ BX, CX
	JGE  rowreduce
	VPMOVSXBW (SI)(BX*1), Y2
	VPMADDWD (R9), Y2, Y2
	VPADDD Y2, Y0, Y0

rowreduce:
	VPADDD Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD X1, X0, X0
	VPSHUFD $0x4e, X0, X1
	VPADDD X1, X0, X0
	VPSHUFD $0xb1, X0, X1
	VPADDD X1, X0, X0
	VMOVD X0, (DI)
	ADDQ CX, SI
	ADDQ $4, DI
	DECQ R8
	JMP  row

rowsdone:
	VZEROUPPER
	RET

// func axpy4AVX(c, b *float32, ldb int, a *[4]float32, n int)
//
// c[j] += a[0]*b[j] + a[1]*b[ldb+j] + a[2]*b[2*ldb+j] + a[3]*b[3*ldb+j],
// accumulated left to right with fused multiply-adds.
TEXT ·axpy4AVX(SB), NOSPLIT, $0-40
	MOVQ c+0(FP), DI
	MOVQ b+8(FP), SI
	MOVQ ldb+16(FP), DX
	MOVQ a+24(FP), AX
	MOVQ n+32(FP), CX
	SHLQ $2, DX
	VBROADCASTSS 0(AX), Y0
	VBROADCASTSS 4(AX), Y1
	VBROADCASTSS 8(AX), Y2
	VBROADCASTSS 12(AX), Y3
	LEAQ (SI)(DX*1), R8
	LEAQ (R8)(DX*1), R9
	LEAQ (R9)(DX*1), R10
	XORQ BX, BX

loop16:
	CMPQ CX, $16
	JL   loop8
	VMOVUPS (DI)(BX*1), Y4
	VMOVUPS 32(DI)(BX*1), Y5
	VFMADD231PS (SI)(BX*1), Y0, Y4
	VFMADD231PS 32(SI)(BX*1), Y0, Y5
	VFMADD231PS (R8)(BX*1), Y1, Y4
	VFMADD231PS 32(R8)(BX*1), Y1, Y5
	VFMADD231PS (R9)(BX*1), Y2, Y4
	VFMADD231PS 32(R9)(BX*1), Y2, Y5
	VFMADD231PS (R10)(BX*1), Y3, Y4
	VFMADD231PS 32(R10)(BX*1), Y3, Y5
	VMOVUPS Y4, (DI)(BX*1)
	VMOVUPS Y5, 32(DI)(BX*1)
	ADDQ $64, BX
	SUBQ $16, CX
	JMP  loop16

loop8:
	CMPQ CX, $8
	JL   tail
	VMOVUPS (DI)(BX*1), Y4
	VFMADD231PS (SI)(BX*1), Y0, Y4
	VFMADD231PS (R8)(BX*1), Y1, Y4
	VFMADD231PS (R9)(BX*1), Y2, Y4
	VFMADD231PS (R10)(BX*1), Y3, Y4
	VMOVUPS Y4, (DI)(BX*1)
	ADDQ $32, BX
	SUBQ $8, CX

tail:
	CMPQ CX, $0
	JE   done
	VMOVSS (DI)(BX*1), X4
	VFMADD231SS (SI)(BX*1), X0, X4
	VFMADD231SS (R8)(BX*1), X1, X4
	VFMADD231SS (R9)(BX*1), X2, X4
	VFMADD231SS (R10)(BX*1), X3, X4
	VMOVSS X4, (DI)(BX*1)
	ADDQ $4, BX
	DECQ CX
	JMP  tail

done:
	VZEROUPPER
	RET

// func butterflyAVX(a, b *float32, n int)
//
// a[j], b[j] = a[j]+b[j], a[j]-b[j] for j < n, n a multiple of 8.
TEXT ·butterflyAVX(SB), NOSPLIT, $0-24
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX

fly8:
	CMPQ CX, $0
	JLE  flydone
	VMOVUPS (SI), Y0
	VMOVUPS (DI), Y1
	VADDPS Y1, Y0, Y2
	VSUBPS Y1, Y0, Y3
	VMOVUPS Y2, (SI)
	VMOVUPS Y3, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  fly8

flydone:
	VZEROUPPER
	RET

// Popcounts of the 16 nibbles, for VPSHUFB.
DATA nibbleCounts<>+0(SB)/8, $0x0302020102010100
DATA nibbleCounts<>+8(SB)/8, $0x0403030203020201
GLOBL nibbleCounts<>(SB), RODATA|NOPTR, $16

// func hammingAVX(codes, q *uint64, words, rows int, out *int32)
//
// words is a multiple of 4. Each 32-byte step XORs the code with the
// query, counts the bits of each nibble with a VPSHUFB lookup and sums the
// bytes into four 64-bit lanes with VPSADBW.
TEXT ·hammingAVX(SB), NOSPLIT, $0-40
	MOVQ codes+0(FP), SI
	MOVQ q+8(FP), DX
	MOVQ words+16(FP), CX
	SHLQ $3, CX
	MOVQ rows+24(FP), R8
	MOVQ out+32(FP), DI
	VBROADCASTI128 nibbleCounts<>(SB), Y15
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	VPXOR Y13, Y13, Y13

hrow:
	TESTQ R8, R8
	JZ    hdone
	VPXOR Y3, Y3, Y3
	XORQ  BX, BX

hstep:
	CMPQ BX, CX
	JGE  hreduce
	VMOVDQU (SI)(BX*1), Y1
	VPXOR (DX)(BX*1), Y1, Y1
	VPSRLW $4, Y1, Y2
	VPAND Y14, Y1, Y1
	VPAND Y14, Y2, Y2
	VPSHUFB Y1, Y15, Y1
	VPSHUFB Y2, Y15, Y2
	VPADDB Y1, Y2, Y1
	VPSADBW Y13, Y1, Y1
	VPADDQ Y1, Y3, Y3
	ADDQ $32, BX
	JMP  hstep

hreduce:
	VEXTRACTI128 $1, Y3, X4
	VPADDQ X4, X3, X3
	VPSHUFD $0x4e, X3, X4
	VPADDQ X4, X3, X3
	VMOVD X3, (DI)
	ADDQ CX, SI
	ADDQ $4, DI
	DECQ R8
	JMP  hrow

hdone:
	VZEROUPPER
	RET
