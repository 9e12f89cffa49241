; Dermal's Windows installer (NSIS 3, built by scripts/dist.sh with makensis on Linux).
; Per-user: it needs no administrator rights, installs into %LOCALAPPDATA%\Programs\Dermal, adds
; a Start-menu entry and an uninstaller, and never touches the records in %LOCALAPPDATA%\Dermal
; (the app's data folder): installing a newer version over an older one keeps them, and the app
; migrates them at its first start; uninstalling leaves them for a later install or a backup.
; Defines from dist.sh: VERSION (shown), NUMVERSION (x.y.z), SRC (staged files), ICON, OUTFILE.
; A 64-bit installer (amd64-unicode stubs): Dermal runs on x86-64 Windows only, and Debian's
; wine64 runs it without the 32-bit wine the default x86 stub would need.
Target amd64-unicode
!include "MUI2.nsh"

!define APP "Dermal"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Dermal"

Name "${APP} ${VERSION}"
OutFile "${OUTFILE}"
RequestExecutionLevel user
InstallDir "$LOCALAPPDATA\Programs\Dermal"
InstallDirRegKey HKCU "Software\Dermal" "InstallDir"
SetCompressor /SOLID lzma
BrandingText "${APP} ${VERSION}"

VIProductVersion "${NUMVERSION}.0"
VIAddVersionKey /LANG=1033 "ProductName" "${APP}"
VIAddVersionKey /LANG=1033 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=1033 "FileVersion" "${NUMVERSION}"
VIAddVersionKey /LANG=1033 "FileDescription" "${APP} installer"
VIAddVersionKey /LANG=1033 "LegalCopyright" "Dermal developers"

!define MUI_ICON "${ICON}"
!define MUI_UNICON "${ICON}"
!define MUI_FINISHPAGE_RUN "$INSTDIR\Dermal.exe"
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"
!insertmacro MUI_LANGUAGE "Vietnamese"

Function .onInit
  !insertmacro MUI_LANGDLL_DISPLAY
FunctionEnd

Section "Dermal"
  SetShellVarContext current
  SetOutPath "$INSTDIR"
  File "${SRC}\Dermal.exe"
  File "${SRC}\onnxruntime.dll"
  File "${SRC}\README.txt"
  File "${SRC}\NOTICE.txt"
  WriteUninstaller "$INSTDIR\Uninstall Dermal.exe"
  CreateShortcut "$SMPROGRAMS\Dermal.lnk" "$INSTDIR\Dermal.exe" "" "$INSTDIR\Dermal.exe" 0
  WriteRegStr HKCU "Software\Dermal" "InstallDir" "$INSTDIR"
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayName" "${APP}"
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINST_KEY}" "Publisher" "Dermal developers"
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\Dermal.exe"
  WriteRegStr HKCU "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINST_KEY}" "UninstallString" '"$INSTDIR\Uninstall Dermal.exe"'
  WriteRegStr HKCU "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\Uninstall Dermal.exe" /S'
  WriteRegDWORD HKCU "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINST_KEY}" "NoRepair" 1
SectionEnd

Section "Uninstall"
  SetShellVarContext current
  ; Only the program's own files: the records in $LOCALAPPDATA\Dermal belong to the clinic.
  Delete "$INSTDIR\Dermal.exe"
  Delete "$INSTDIR\onnxruntime.dll"
  Delete "$INSTDIR\README.txt"
  Delete "$INSTDIR\NOTICE.txt"
  Delete "$INSTDIR\Uninstall Dermal.exe"
  RMDir "$INSTDIR"
  Delete "$SMPROGRAMS\Dermal.lnk"
  DeleteRegKey HKCU "${UNINST_KEY}"
  DeleteRegKey HKCU "Software\Dermal"
SectionEnd
