-- Who may do what on the district hub: Orthanc calls IncomingHttpRequestFilter before every
-- HTTP request (Orthanc Book, "Lua scripting"). The roles come from roles.lua, which `hub`
-- writes from its users file (Clinics, Specialists, Admins).
--
--   a clinic      stores instances into its own studies (STOW-RS to the study's URL) and reads
--                 its own studies (QIDO-RS and WADO-RS under /dicom-web/studies/UID); nothing
--                 else: no search across studies, no REST API, no change feed, no delete.
--   a specialist  reads every study over DICOMweb and stores replies into existing studies;
--                 no REST API, no delete.
--   hub-admin     everything (the IT officer's maintenance login).
--
-- A study belongs to the clinic whose login prefixes its patient's id ("clinic/BN-0142"): the
-- id Dermal sends, which also keeps two clinics' patients apart in Orthanc (which keys
-- patients by PatientID alone). ReceivedInstanceFilter holds every stored instance to it: a
-- clinic cannot store a study in another clinic's name. Everything not allowed here is
-- refused (HTTP 403).

local function studyPatientID(uid)
  local query = DumpJson({ Level = 'Study', Expand = true, Query = { StudyInstanceUID = uid } }, true)
  local found = ParseJson(RestApiPost('/tools/find', query))
  if found == nil or #found == 0 then
    return nil
  end
  return found[1]['PatientMainDicomTags']['PatientID'] or ''
end

-- owns: the study is this clinic's, or is not on the hub (nothing to read; a new study).
local function owns(user, uid)
  local pid = studyPatientID(uid)
  return pid == nil or string.sub(pid, 1, string.len(user) + 1) == user .. '/'
end

-- A study's URL: /dicom-web/studies/UID, or below it. Anything that could step out of it
-- (dots, doubled or escaped slashes) is not one.
local function studyURI(uri)
  if string.find(uri, '%.%.') or string.find(uri, '//') or string.find(uri, '%%') or string.find(uri, '\\', 1, true) then
    return nil, nil
  end
  local uid, rest = string.match(uri, '^/dicom%-web/studies/([0-9][0-9.]*)(.*)$')
  if uid == nil or (rest ~= '' and string.sub(rest, 1, 1) ~= '/') then
    return nil, nil
  end
  return uid, rest
end

-- Who may store into a study: the HTTP filter sees the login of a DICOMweb upload,
-- ReceivedInstanceFilter sees the instance but not the login (its origin is only "Plugins"),
-- and Orthanc runs them in two Lua contexts. The HTTP filter leaves the sender in a file named
-- by the study in UploadsDir (roles.lua sets it; shared by the nodes) for the other to read.
local function allowUpload(uid, who)
  local f = io.open(UploadsDir .. '/' .. uid, 'w')
  if f == nil then
    return false
  end
  f:write(who)
  f:close()
  return true
end

-- Every stored instance must be its sender's: a clinic's patient id starts with its login; a
-- specialist's reply names the study's own patient. Anything else (an upload nobody was
-- allowed) is refused, except the hub's maintenance login through the REST API.
function ReceivedInstanceFilter(dicom, origin, info)
  local uid = dicom.StudyInstanceUID or ''
  local pid = dicom.PatientID or ''
  if origin ~= nil and origin.Username ~= nil and Admins[origin.Username] == true then
    return true
  end
  if not string.match(uid, '^[0-9][0-9.]*$') then
    return false
  end
  local f = io.open(UploadsDir .. '/' .. uid, 'r')
  if f == nil then
    return false
  end
  local who = f:read('*a') or ''
  f:close()
  local kind, name = string.match(who, '^(%a+) (.+)$')
  if kind == 'clinic' then
    return string.sub(pid, 1, string.len(name) + 1) == name .. '/'
  end
  return (kind == 'patient' and pid == name) or (kind == 'admin' and Admins[name] == true)
end

function IncomingHttpRequestFilter(method, uri, ip, username, httpHeaders)
  if Admins[username] then
    local uid, rest = studyURI(uri)
    if method == 'POST' and uid ~= nil and rest == '' then
      return allowUpload(uid, 'admin ' .. username)
    end
    return true
  end
  if Specialists[username] then
    if method == 'GET' then
      return string.sub(uri, 1, 11) == '/dicom-web/' and not string.find(uri, '^/dicom%-web/servers')
    end
    if method == 'POST' then
      local uid, rest = studyURI(uri)
      if uid == nil or rest ~= '' then
        return false
      end
      local pid = studyPatientID(uid)
      if pid == nil then
        return false
      end
      return allowUpload(uid, 'patient ' .. pid)
    end
    return false
  end
  if Clinics[username] then
    local uid, rest = studyURI(uri)
    if uid == nil then
      return false
    end
    if method == 'POST' then
      if rest ~= '' or not owns(username, uid) then
        return false
      end
      return allowUpload(uid, 'clinic ' .. username)
    end
    if method == 'GET' then
      return owns(username, uid)
    end
    return false
  end
  return false
end
